"""Planning, writing deliveries and the cron tick on the 200,000-enrollment export."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_import import certify_import
from bench.common import DATA, Result, bench_actions, export_dir, interleaved, median, timed
from certify.clock import from_utc_text, to_utc_text
from certify.config import Config, load
from certify.plan import make_plan
from certify.render import render_message
from certify.runner import Runner
from certify.store import Store
from certify.templates import Templates
from certify.transports import DirTransport, message_bytes

FLOOR_JUDGE_SQL = """
SELECT e.course_id, e.person_id,
       (200 * present + required) / (2 * required) >= coalesce(t.attendance_percentage, 100)
           OR required = 0 AS attendance_met,
       passed = pass_required AS pass_met,
       c.status = 'final' AS status_ok
FROM (
    SELECT e.course_id, e.person_id,
        (SELECT count(*) FROM parts p JOIN attendance a ON a.part_id = p.part_id
         AND a.person_id = e.person_id WHERE p.course_id = e.course_id AND a.present = 1
         AND p.attendance_required = 1) AS present,
        (SELECT count(*) FROM parts p JOIN results r ON r.part_id = p.part_id
         AND r.person_id = e.person_id WHERE p.course_id = e.course_id AND r.passed = 1
         AND p.pass_required = 1) AS passed
    FROM enrollments e WHERE e.status != 'cancelled'
) e
JOIN courses c ON c.course_id = e.course_id
LEFT JOIN course_types t ON t.course_type = c.course_type
JOIN (SELECT course_id, sum(attendance_required) AS required, sum(pass_required) AS pass_required
      FROM parts GROUP BY course_id) q ON q.course_id = e.course_id
"""


def base_db() -> Path:
    db = DATA / "run-base.db"
    if not db.exists():
        certify_import(export_dir(1), db)
    return db


def copy_db(name: str) -> Path:
    target = DATA / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(base_db(), target)
    return target


def run_plan(repeat: int) -> list[Result]:
    db = base_db()
    config = load(bench_actions(DATA / "plan"))
    now = datetime(2027, 1, 1, tzinfo=UTC)  # every course due, every participant judged

    def subject() -> float:
        store = Store.open_readonly(db)
        runner = Runner(store, config, Templates(config), now)
        elapsed = timed(lambda: runner.run(config.actions, None))
        store.close()
        return elapsed

    def floor() -> float:
        store = Store.open_readonly(db)
        elapsed = timed(lambda: store.conn.execute(FLOOR_JUDGE_SQL).fetchall())
        store.close()
        return elapsed

    subjects, floors = interleaved(subject, floor, repeat)
    s, f = median(subjects), median(floors)
    return [
        Result(
            "dry run judging 200k participants x 2 actions",
            s,
            f,
            "s",
            "<= 3.0x floor",
            s / f <= 3.0,
        )
    ]


def switched_on(db: Path, config: Config, now: datetime) -> Path:
    """The state after the roll-out: history before `since` already recorded as skipped."""
    store = Store.open(db)
    Runner(store, config, Templates(config), now).run(
        config.actions, DirTransport(DATA / "unused-outbox"), limit=0
    )
    store.close()
    return db


def _window_since(db: Path, courses: int) -> str:
    """A `since` that leaves the last `courses` final courses due: a realistic window."""
    store = Store.open_readonly(db)
    ends = [
        row[0]
        for row in store.conn.execute(
            'SELECT "end" FROM courses WHERE status = \'final\' ORDER BY "end" DESC LIMIT ?',
            (courses,),
        )
    ]
    store.close()
    return to_utc_text(from_utc_text(ends[-1]) + timedelta(hours=1))


def _writing_config(directory: Path, since: str) -> Path:
    path = bench_actions(directory, attendance="no", passing="no")
    path.write_text(path.read_text().replace("since: 2000-01-01", f'since: "{since}"'))
    return path


def run_write(repeat: int, deliveries: int = 5000) -> list[Result]:
    courses = deliveries // 40 + 5  # 20 participants x 2 actions each
    since = _window_since(base_db(), courses)
    config = load(_writing_config(DATA / "write", since))
    now = datetime(2027, 1, 1, tzinfo=UTC)

    def subject() -> float:
        db = switched_on(copy_db("write.db"), config, now)
        out = Path(tempfile.mkdtemp(dir=DATA))
        store = Store.open(db)
        runner = Runner(store, config, Templates(config), now)
        elapsed = timed(lambda: runner.run(config.actions, DirTransport(out), limit=deliveries))
        store.close()
        written = len(os.listdir(out))
        shutil.rmtree(out)
        assert written == deliveries, written
        return elapsed

    def floor() -> float:
        """Render, build and write the same messages atomically, with no bookkeeping."""
        db = copy_db("write-floor.db")
        store = Store.open(db)
        templates = Templates(config)
        plan = make_plan(store, config, now)
        chosen = [d for d in plan.decisions if d.outcome == "send"][:deliveries]
        people = {
            row[0]: row
            for row in store.conn.execute(
                "SELECT person_id, first_name, infix, last_name, full_name, email, language FROM persons"
            )
        }
        out = Path(tempfile.mkdtemp(dir=DATA))

        def write_all() -> None:
            from certify.context import sample_context

            for index, decision in enumerate(chosen):
                person = people[decision.participant.person_id]
                context = sample_context(now)
                context["person"].update(
                    id=person[0],
                    first_name=person[1],
                    infix=person[2] or "",
                    last_name=person[3],
                    full_name=person[4],
                    email=person[5],
                )
                context["course"].update(id=decision.course.id, name=decision.course.name)
                message = render_message(
                    templates, decision.action, context, message_id=f"<{index}@x>", sent_at=now
                )
                data = message_bytes(message)
                descriptor, temporary = tempfile.mkstemp(dir=out)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, out / f"{index}.eml")
                directory = os.open(out, os.O_RDONLY)
                os.fsync(directory)
                os.close(directory)

        elapsed = timed(write_all)
        store.close()
        shutil.rmtree(out)
        return elapsed

    subjects, floors = interleaved(subject, floor, repeat)
    s, f = median(subjects), median(floors)
    return [
        Result(
            f"run-due writing {deliveries} deliveries (.eml, fsync)",
            s,
            f,
            "s",
            "<= 1.5x floor",
            s / f <= 1.5,
            f"{deliveries / s:.0f}/s vs {deliveries / f:.0f}/s",
        )
    ]


def run_tick(repeat: int) -> list[Result]:
    """A cron tick with nothing new due, after the history has been switched on."""
    db = copy_db("tick.db")
    actions = bench_actions(DATA / "tick")
    actions.write_text(actions.read_text().replace("    since: 2000-01-01\n", ""))
    command = [
        sys.executable,
        "-m",
        "certify",
        "run-due",
        "--db",
        str(db),
        "--actions",
        str(actions),
        "--transport",
        "dir",
        "--out",
        str(DATA / "tick-out"),
    ]
    subprocess.run([*command, "--now", "2026-11-20T08:00"], check=True, capture_output=True)
    ticks = []
    starts = []
    for minute in range(repeat * 2):
        now = f"2026-11-20T09:{minute:02d}"
        ticks.append(
            timed(
                lambda now=now: subprocess.run(
                    [*command, "--now", now], check=True, capture_output=True
                )
            )
        )
        starts.append(
            timed(lambda: subprocess.run([sys.executable, "-c", "import certify.cli"], check=True))
        )
    s, f = median(ticks), median(starts)
    return [
        Result(
            "cron tick, nothing new due (whole command)",
            s,
            f,
            "s",
            "< 1 s",
            s < 1.0,
            f"floor = Python start-up and imports alone: {f:.2f} s",
        )
    ]
