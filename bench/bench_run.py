"""`certify run-due` on perf_world: the judging dry run, the rendering dry run, writing .eml
files, and the cron tick with nothing new due; each a whole process against its floor."""

from __future__ import annotations

import re
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import (
    DATA,
    NOW,
    Broken,
    Proc,
    Result,
    Side,
    certify,
    copy_db,
    eml_count,
    floor_db,
    floor_facts,
    floor_script,
    floors,
    measure,
    median,
    perf_actions,
    python,
    ratio_result,
    remove_db,
    rounds_of,
    run_process,
    scratch,
    switched_on_db,
)

# what a run's JSON counts, together one per (action, participant) judged
JUDGED = ("would_send", "sent", "waiting", "not_due", "skipped", "expired", "retry_later", "held")


def base_db() -> Path:
    """certify's own database of the 1x export, switched on, nothing sent."""
    return switched_on_db()


def run_due(db: Path, *options: str | Path) -> list[str]:
    """`certify run-due` with perf_world at the measures' moment."""
    return certify("run-due", "--db", db, "--actions", perf_actions(), "--now", NOW, *options)


def run_plan(repeat: int) -> list[Result]:
    enrolled = floor_facts()["enrolled"]
    floor_met: list[int] = []

    def floor_check(proc: Proc) -> str:
        floor_met.append(int(proc.stdout.strip()))
        return f"{floor_met[-1]} meet both"

    def check(proc: Proc) -> str:
        report = proc.json()
        judged = sum(report.get(key, 0) for key in JUDGED)
        # two actions, each judging every enrolled participant of the export
        if judged != 2 * enrolled:
            raise Broken(f"the dry run judged {judged}, not 2 x {enrolled} enrolled")
        certificates = sum(1 for d in report["deliveries"] if d["action"] == "certificate")
        if certificates != floor_met[-1]:
            raise Broken(f"{certificates} certificates due, the floor finds {floor_met[-1]}")
        return f"{judged} judged, {certificates} certificates"

    floor = Side("floor", lambda: floor_script("eval_floor.py", floor_db()), floor_check)
    subject = Side(
        "certify",
        lambda: run_due(base_db(), "--dry-run", "--no-render", "--json"),
        check,
    )
    runs = measure([floor, subject], repeat)
    return [
        ratio_result(
            f"dry run judging {enrolled // 1000}k participants x 2 actions (--no-render --json)",
            runs,
            "certify",
            "floor",
            2.0,
            profile=subject,
        )
    ]


REMINDER = """
  - id: refresher
    name: "Refresher [Opleiding:Naam] - [Persoon:NaamVolledig]"
    email_template: proof
    since: 2024-01-01
    timing: {before: certificate_expiry, of: certificate, offset: 6, unit: weeks, at: "09:00"}
"""


def renewal_actions() -> Path:
    """perf_world with `validity: 1 year` on its certificate and a six-week reminder."""
    folder = DATA / "renewal_world"
    actions = folder / "actions.yaml"
    if not actions.exists():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(perf_actions().parent, folder)
        text = perf_actions().read_text()
        text = text.replace(
            "    since: 2024-01-01\n", "    since: 2024-01-01\n    validity: 1 year\n", 1
        )
        actions.write_text(text + REMINDER)
    return actions


def renewal_db() -> Path:
    """The switched-on database with a register: a certificate of one year for every
    enrollment of a final course, as an import of the previous system's would give."""
    db = DATA / "renewal-x1.db"
    if db.exists():
        return db
    partial = copy_db(base_db(), DATA / "renewal-x1.partial.db")
    with sqlite3.connect(partial) as conn:
        conn.execute(
            "INSERT INTO certificates (number, code, action, course_id, person_id, course_name, "
            "language, issued_on, valid_until, source, issued_at, changed_at) "
            "SELECT e.course_id || '/' || e.person_id, e.course_id || '/' || e.person_id, 'certificate', e.course_id, e.person_id, "
            "c.name, 'en', date(c.\"end\"), date(c.\"end\", '+1 year'), 'imported', "
            "?, ? FROM enrollments e JOIN courses c ON c.course_id = e.course_id "
            "WHERE lower(c.status) = 'final' AND e.status != 'cancelled'",
            ("2027-01-15T07:00:00Z", "2027-01-15T07:00:00Z"),
        )
    conn.close()
    copy_db(partial, db)
    remove_db(partial)
    return db


def run_plan_renewal(repeat: int) -> list[Result]:
    """The judging dry run with a renewal reminder added, over a register of a certificate
    per participant: the same floor, the same 2x."""
    enrolled = floor_facts()["enrolled"]

    def floor_check(proc: Proc) -> str:
        return f"{int(proc.stdout.strip())} meet both"

    def check(proc: Proc) -> str:
        report = proc.json()
        judged = sum(report.get(key, 0) for key in JUDGED)
        if judged < 2 * enrolled:
            raise Broken(f"the dry run judged {judged}, fewer than 2 x {enrolled} enrolled")
        reminders = sum(1 for d in report["deliveries"] if d["action"] == "refresher")
        return f"{judged} judged, {reminders} reminders due"

    floor = Side("floor", lambda: floor_script("eval_floor.py", floor_db()), floor_check)
    subject = Side(
        "certify",
        lambda: certify(
            "run-due",
            "--db",
            renewal_db(),
            "--actions",
            renewal_actions(),
            "--now",
            NOW,
            "--dry-run",
            "--no-render",
            "--json",
        ),
        check,
    )
    runs = measure([floor, subject], repeat)
    return [
        ratio_result(
            f"dry run judging {enrolled // 1000}k participants x 2 actions and a renewal "
            "reminder over a register of as many certificates (--no-render --json)",
            runs,
            "certify",
            "floor",
            2.0,
            profile=subject,
        )
    ]


def render_floor(deliveries: int) -> Side:
    """render_floor.py: Jinja2, EmailMessage, fsync'd atomic write, no bookkeeping."""
    out = DATA / "render-floor-out"

    def command() -> list[str]:
        scratch(out.name)
        return floor_script("render_floor.py", floor_db(), out, str(deliveries))

    def check(proc: Proc) -> str:
        written = eml_count(out)
        if written != deliveries:
            raise Broken(f"render_floor.py wrote {written} of {deliveries} files")
        return f"{written} files"

    return Side("floor", command, check)


def run_render(repeat: int, deliveries: int = 5000) -> list[Result]:
    def check(proc: Proc) -> str:
        report = proc.json()
        rendered = [d for d in report["deliveries"] if d["state"] == "would send" and d["subject"]]
        if report["would_send"] != deliveries or len(rendered) != deliveries:
            raise Broken(f"the dry run rendered {len(rendered)} of {deliveries} messages")
        return f"{len(rendered)} rendered"

    subject = Side(
        "certify",
        lambda: run_due(base_db(), "--dry-run", "--limit", str(deliveries), "--json"),
        check,
    )
    runs = measure([render_floor(deliveries), subject], repeat)
    return [
        ratio_result(
            f"rendering dry run of {deliveries} messages (writes nothing)",
            runs,
            "certify",
            "floor",
            1.2,
            profile=subject,
            note="floor: render_floor.py, which also writes and fsyncs every file",
        )
    ]


def run_write(repeat: int, deliveries: int = 5000) -> list[Result]:
    db, out = DATA / "write.db", DATA / "write-out"

    def command() -> list[str]:
        copy_db(base_db(), db)
        scratch(out.name)
        options = ["--limit", str(deliveries), "--transport", "dir", "--out", out, "--json"]
        return run_due(db, *options)

    def check(proc: Proc) -> str:
        sent, written = proc.json()["sent"], eml_count(out)
        if sent != deliveries or written != deliveries:
            raise Broken(f"run-due sent {sent} and wrote {written} files, not {deliveries}")
        return f"{written} files"

    subject = Side("certify", command, check)
    runs = measure([render_floor(deliveries), subject], repeat)
    return [
        ratio_result(
            f"run-due writing {deliveries} .eml files (fsync'd)",
            runs,
            "certify",
            "floor",
            1.2,
            profile=subject,
            note=f"{deliveries / median([p.wall for p in runs['certify']]):.0f}/s vs "
            f"{deliveries / median([p.wall for p in runs['floor']]):.0f}/s",
        )
    ]


def tick_actions() -> Path:
    """perf_world's actions without `since`: the first real run records its moment, so the
    whole export becomes history, recorded skipped once."""
    text = perf_actions().read_text()
    text = re.sub(r"(?m)^\s+since:.*\n", "", text)
    templates = floors() / "perf_world" / "templates"
    text = re.sub(r"(?m)^templates_dir:.*$", f'templates_dir: "{templates}"', text)
    path = DATA / "tick" / "actions.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_tick(repeat: int) -> list[Result]:
    """A cron tick with nothing new due, over 200k enrollments of recorded history."""
    db, out, actions = copy_db(base_db(), DATA / "tick.db"), scratch("tick-out"), tick_actions()
    moment = datetime.fromisoformat(NOW)
    common = ["--db", db, "--actions", actions, "--transport", "dir", "--out", out]
    switch_on = run_process(certify("run-due", *common, "--now", NOW, "--json"))
    if switch_on.code != 0 or switch_on.json()["sent"] != 0 or not switch_on.json()["skipped"]:
        raise Broken(f"switching the tick database on failed: {switch_on.stdout[-300:]}")
    history = floor_facts()["enrolled"]
    ticks = iter(range(1, 10_000))

    def tick() -> list[str]:
        at = moment + timedelta(minutes=next(ticks))
        return certify("run-due", "-q", *common, "--now", f"{at:%Y-%m-%dT%H:%M}")

    def check(proc: Proc) -> str | None:
        if proc.stdout.strip() or eml_count(out):
            raise Broken(f"a tick with nothing due did something: {proc.stdout[:200]!r}")
        return None

    runs = measure(
        [
            Side("python -c pass", lambda: python("-c", "pass")),
            Side("import certify.cli", lambda: python("-c", "import certify.cli")),
            Side("certify", tick, check),
        ],
        repeat,
    )
    wall = median([p.wall for p in runs["certify"]])
    start = median([p.wall for p in runs["python -c pass"]])
    imports = median([p.wall for p in runs["import certify.cli"]])
    return [
        Result(
            f"cron tick, nothing new due, {history // 1000}k enrollments of history",
            wall,
            start,
            "s",
            "< 0.25 s (floor: python -c pass)",
            wall < 0.25,
            f"python -c 'import certify.cli' {imports:.3f} s; "
            f"cpu {median([p.cpu for p in runs['certify']]):.3f} s",
            median([p.cpu for p in runs["certify"]]),
            median([p.cpu for p in runs["python -c pass"]]),
            rounds_of(runs),
            Side("certify", tick),
        )
    ]
