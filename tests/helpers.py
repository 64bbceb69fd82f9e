"""What the tests share: exports on disk, databases, configs, and the CLI in and out of process."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from certify.clock import parse_moment
from certify.config import Config, load
from certify.ingest.importer import ImportReport, import_files
from certify.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
AMS = ZoneInfo("Europe/Amsterdam")


def moment(text: str) -> datetime:
    return parse_moment(text, AMS)


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_bytes(textwrap.dedent(text).lstrip("\n").encode(encoding))
    return path


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    """The rows a query returns from the database file, opened anew."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def import_into(
    db: Path, *paths: Path, now: str = "2026-11-01 08:00", **options: object
) -> ImportReport:
    store = Store.open(db)
    try:
        return import_files(store, list(paths), tz=AMS, now=moment(now), **options)  # type: ignore[arg-type]
    finally:
        store.close()


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real CLI, as cron would run it: a subprocess without a terminal.

    In English unless `env` or `--lang` asks for another language: the shipped actions.yaml
    says `locale: nl`.
    """
    full_env = {**os.environ, "COLUMNS": "200", "CERTIFY_LANG": "en", **(env or {})}
    full_env.pop("CERTIFY_DB", None) if env is None or "CERTIFY_DB" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "certify", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Ran:
    """What a command printed and how it ended, like a finished subprocess."""

    returncode: int
    stdout: str
    stderr: str
    exception: BaseException | None = None  # one that escaped the command (with `catch`)

    def __iter__(self) -> Iterator[object]:
        """`code, out, err = ran`, as the three figures a test most often reads."""
        return iter((self.returncode, self.stdout, self.stderr))


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, catch: bool = False
) -> Ran:
    """The CLI in this process, through Typer's test runner: output and exit codes, fast.

    Without a terminal, as under cron. An unexpected exception fails the test with its
    traceback (with `catch`, it is returned instead); the lock, signals, cron and SMTP keep
    using the real process (`run_cli`). In English unless `env` or `--lang` asks for
    another language; the language chosen does not outlast the command.
    """
    from certify import locale
    from certify.cli import app

    environment: dict[str, str | None] = {
        "CERTIFY_DB": None,
        "CERTIFY_ACTIONS": None,
        "CERTIFY_LANG": "en",
    }
    environment.update(env or {})
    try:
        with contextlib.chdir(cwd or Path.cwd()):
            result = CliRunner().invoke(app, list(args), env=environment, catch_exceptions=catch)
    finally:
        locale.choose(None)
        locale.configure(None)
        locale.fall_back_to(None)
    escaped = None if isinstance(result.exception, SystemExit) else result.exception
    return Ran(result.exit_code, result.stdout, result.stderr, escaped)


BASE_ACTIONS = """
version: 1
timezone: Europe/Amsterdam
sender: "Training office <training@example.org>"
actions:
{actions}
"""

CERT_ACTION = """
  - id: certificate
    name: "Certificate [Opleiding:Naam] - [Persoon:NaamVolledig]"
    email_template: certificate
    timing: {{after: {after}, offset: {offset}, unit: {unit}{at}}}
    {since}
    {expire}
    conditions:
      course_status: {status}
      attendance: {attendance}
      pass: {passing}
"""

TEXT_TEMPLATE = """---
subject: "Certificate {{ course.name }} - {{ person.full_name }}"
---
Dear {{ person.first_name }}, you passed {{ course.name }} ({{ delivery.certificate_number }}).
"""


def make_config(
    directory: Path,
    *,
    after: str = "course_end",
    offset: int = 0,
    unit: str = "days",
    at: str | None = None,
    since: str | None = "2020-01-01",
    expire: str | None = None,
    status: str = "final",
    attendance: str = "yes",
    passing: str = "yes",
    extra_actions: str = "",
    top: str = "",
) -> Config:
    """An actions.yaml with one `certificate` action, and its template, in `directory`."""
    action = CERT_ACTION.format(
        after=after,
        offset=offset,
        unit=unit,
        at=f', at: "{at}"' if at else "",
        since=f"since: {since}" if since else "",
        expire=f"expire_after: {expire}" if expire else "",
        status=status,
        attendance=attendance,
        passing=passing,
    )
    text = BASE_ACTIONS.format(actions=action + extra_actions) + top
    (directory / "actions.yaml").write_text(text)
    templates = directory / "templates"
    templates.mkdir(exist_ok=True)
    (templates / "certificate.txt.j2").write_text(TEXT_TEMPLATE)
    return load(directory / "actions.yaml")


STANDARD = {
    "course_types.csv": """
        course_type,attendance_percentage
        FOUR,75
    """,
    "courses.csv": """
        course_id,name,course_type,status,start,end
        C1,Display training,FOUR,final,2026-11-01,2026-11-05 17:00
    """,
    "parts.csv": """
        part_id,course_id,name,attendance_required,pass_required
        C1-1,C1,Day 1,yes,no
        C1-2,C1,Day 2,yes,no
        C1-3,C1,Day 3,yes,no
        C1-4,C1,Exam,yes,yes
    """,
    "persons.csv": """
        person_id,first_name,infix,last_name,email
        P1,Bram,van der,Berg,bram@example.org
        P2,Zoë,,Öztürk,zoe@example.org
    """,
    "enrollments.csv": """
        course_id,person_id,enrolled_at
        C1,P1,2026-10-01
        C1,P2,2026-10-01
    """,
    "attendance.csv": """
        part_id,person_id,present,registered_at
        C1-1,P1,yes,2026-11-02 17:00
        C1-2,P1,yes,2026-11-03 17:00
        C1-3,P1,yes,2026-11-04 17:00
        C1-4,P1,no,2026-11-05 17:00
        C1-1,P2,yes,2026-11-02 17:00
        C1-2,P2,no,2026-11-03 17:00
    """,
    "results.csv": """
        part_id,person_id,passed,registered_at
        C1-4,P1,yes,2026-11-05 18:00
        C1-4,P2,yes,2026-11-05 18:00
    """,
}


def write_export(directory: Path, **files: str | None) -> Path:
    """The standard export in `directory`, with files replaced (or removed: None) by keyword."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in {**STANDARD, **{f"{k}.csv": v for k, v in files.items()}}.items():
        target = directory / name
        if text is None:
            target.unlink(missing_ok=True)
        else:
            write(directory, name, text)
    return directory


# the shipped examples' moments: the actions switched on (what was due before is history),
# and the demo's run
SWITCH_ON = "2026-11-10T08:00"
DEMO_NOW = "2026-11-20T10:00"
TO_OUTBOX = ("--transport", "dir", "--out", "outbox")


def proof_action(
    *,
    template: str = "proof",
    timing: str = "{after: course_end, offset: 0, unit: days}",
    since: str = "2020-01-01",
    conditions: str = "{course_status: final, attendance: no, pass: no}",
) -> str:
    """A `proof` action to add to `make_config`'s actions (`extra_actions`)."""
    return f"""
  - id: proof
    name: "Proof of participation [Opleiding:Naam]"
    email_template: {template}
    timing: {timing}
    since: {since}
    conditions: {conditions}
"""


PROOF_TEMPLATE = """---
subject: "Proof of participation {{ course.name }}"
---
Dear {{ person.full_name }}, you took part in {{ course.name }}.
"""


def run_due(directory: Path, *options: str, now: str = DEMO_NOW) -> Ran:
    """`certify run-due` in `directory` at `now`, into its outbox unless a transport is given."""
    transport = () if "--transport" in options else TO_OUTBOX
    return cli("run-due", "--now", now, *transport, *options, cwd=directory)


def states(db: Path, *key: str) -> dict[tuple[str, ...], str]:
    """Each delivery's state, keyed by the columns named (action, course_id, person_id)."""
    columns = key or ("action", "course_id", "person_id")
    found = rows(db, f"SELECT {', '.join(columns)}, state FROM deliveries")
    return {tuple(str(value) for value in row[:-1]): str(row[-1]) for row in found}
