"""`certificates.csv`: certificates the previous system issued, joining the register.

They come with an import, after its tables (the persons and courses they name must be
known), and carry no PDF: source `imported`. The whole file is taken or, with any
problem, none of it; every problem is named by file, line and column.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

from certify.clock import from_utc_text, parse_written, to_utc_text
from certify.config import Config
from certify.decide.rules import end_date_of, valid_until
from certify.errors import LocatedErrors
from certify.ingest.flat import FlatCertificate
from certify.locale import _, ngettext
from certify.register.codes import new_code

FILE = "certificates.csv"
COLUMNS = ("number", "person_id", "course_id", "action", "issued_on", "valid_until")
REQUIRED = ("number", "person_id", "course_id", "action", "issued_on")


def found_in(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The paths an import is given, without the certificates files; and those files."""
    rest: list[Path] = []
    files: list[Path] = []
    for path in paths:
        if path.is_file() and path.name.lower() == FILE:
            files.append(path)
            continue
        rest.append(path)
        if path.is_dir():
            files += [c for c in sorted(path.iterdir()) if c.is_file() and c.name.lower() == FILE]
    return rest, files


@dataclass(frozen=True)
class _Row:
    where: str  # FILE:LINE
    number: str
    person_id: str
    course_id: str
    action: str
    issued_on: date
    valid_until: date | None


# A certificate as a source states it: where (FILE:LINE), its texts by column, and how a
# message names a column (a flat file's by its header).
_Record = tuple[str, dict[str, str], Callable[[str], str]]


def _as_named(column: str) -> str:
    return column


def _day(text: str, where: str, column: str, problems: list[str]) -> date | None:
    try:
        written = parse_written(text)
    except ValueError:
        said = _("cannot read {value} as a date (2026-11-05 or 05-11-2026)")
        problems.append(f"{where}: {column}: {said.format(value=repr(text))}")
        return None
    return written.date() if isinstance(written, datetime) else written


def _read(file: Path) -> tuple[list[_Record], list[str]]:
    """The certificates of one certificates.csv as it states them."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        said = _("cannot read it as UTF-8 text ({reason})").format(reason=exc)
        return [], [f"{file}: {said}"]
    reader = csv.DictReader(text.splitlines())
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        said = _("missing column {missing} (columns: {columns})").format(
            missing=", ".join(missing), columns=", ".join(COLUMNS)
        )
        return [], [f"{file}:1: {said}"]
    reader.fieldnames = header
    return [
        (
            f"{file}:{line}",
            {key: (value or "").strip() for key, value in record.items() if key},
            _as_named,
        )
        for line, record in enumerate(reader, start=2)
    ], []


def _flat(certificate: FlatCertificate) -> _Record:
    """A certificate a flat file's rows name, as certificates.csv would state it."""
    values = certificate._asdict()
    names = certificate.names

    def named(column: str) -> str:
        return names.get(column, column)

    return certificate.where, {k: v for k, v in values.items() if isinstance(v, str)}, named


def _check(
    records: list[_Record], config: Config, conn: sqlite3.Connection
) -> tuple[list[_Row], list[str]]:
    """The certificates that name a known person, course and action with readable dates;
    and every problem, located."""
    problems: list[str] = []
    actions = {action.id for action in config.actions}
    persons = {p for (p,) in conn.execute("SELECT person_id FROM persons")}
    courses = {c for (c,) in conn.execute("SELECT course_id FROM courses")}
    seen: dict[str, str] = {}
    rows: list[_Row] = []
    for where, values, named in records:
        empty = [column for column in REQUIRED if not values.get(column)]
        for column in empty:
            problems.append(f"{where}: {named(column)}: " + _("empty; every certificate needs one"))
        if empty:
            continue
        number = values["number"]
        if number in seen:
            said = _("{value} is already at {place}").format(value=repr(number), place=seen[number])
            problems.append(f"{where}: {named('number')}: {said}")
        seen.setdefault(number, where)
        for column, known, said in (
            (
                "person_id",
                persons,
                _("no person {value} in the database (import persons.csv with it)"),
            ),
            (
                "course_id",
                courses,
                _("no course {value} in the database (import courses.csv with it)"),
            ),
        ):
            if values[column] not in known:
                problems.append(
                    f"{where}: {named(column)}: {said.format(value=repr(values[column]))}"
                )
        if values["action"] not in actions:
            said = _("no action {value} in {file} (known: {known})").format(
                value=repr(values["action"]), file=config.path, known=", ".join(sorted(actions))
            )
            problems.append(f"{where}: {named('action')}: {said}")
        issued = _day(values["issued_on"], where, named("issued_on"), problems)
        until = (
            _day(values["valid_until"], where, named("valid_until"), problems)
            if values.get("valid_until")
            else None
        )
        if issued is not None:
            rows.append(
                _Row(
                    where,
                    number,
                    values["person_id"],
                    values["course_id"],
                    values["action"],
                    issued,
                    until,
                )
            )
    return rows, problems


def _local_day(stored: str | None, end_is_date: bool, tz: tzinfo) -> str | None:
    """A course's stored start or end as the local day the register prints."""
    if not stored:
        return None
    moment = from_utc_text(stored)
    return (end_date_of(moment, tz) if end_is_date else moment.astimezone(tz).date()).isoformat()


def import_certificates(
    conn: sqlite3.Connection,
    files: list[Path],
    config: Config,
    now: datetime,
    warnings: list[str] | None = None,
    flat: Sequence[FlatCertificate] = (),
) -> int:
    """Add the certificates of these files to the register (source `imported`), inside the
    import's transaction; returns how many are new or changed. Any problem: a located error,
    and the import's transaction is undone whole. `flat`: those a flat file's rows name.

    A certificate without `valid_until` is valid until its course's end date plus its
    action's `validity`, as an issued one; without a validity it never expires and no
    reminder can ever be due: `warnings` gets one line with how many."""
    records = [_flat(certificate) for certificate in flat]
    problems: list[str] = []
    for file in files:
        read, found = _read(file)
        records += read
        problems += found
    if not records and not problems:
        return 0
    rows, found = _check(records, config, conn)
    problems += found
    issued_here = {
        n for (n,) in conn.execute("SELECT number FROM certificates WHERE source != 'imported'")
    }
    for row in rows:
        if row.number in issued_here:
            said = _(
                "{value} is a certificate certify issued itself; an imported one needs a "
                "number of its own"
            ).format(value=repr(row.number))
            problems.append(f"{row.where}: number: {said}")
    if problems:
        raise LocatedErrors(
            FILE if files else "certificates",
            problems,
            hint=_("no certificate of it was imported: correct it and import again"),
        )
    moment = to_utc_text(now)
    before = conn.total_changes
    validity = {action.id: action.validity for action in config.actions}
    endless: dict[str, int] = {}  # per action, the certificates that never expire
    today = now.astimezone(config.tz).date()
    unenrolled: list[str] = []  # still valid, but no enrollment for a reminder to follow
    for row in rows:
        person = conn.execute(
            "SELECT full_name, language FROM persons WHERE person_id = ?", (row.person_id,)
        ).fetchone()
        course = conn.execute(
            'SELECT name, start, "end", end_is_date FROM courses WHERE course_id = ?',
            (row.course_id,),
        ).fetchone()
        course_end = _local_day(course[2], bool(course[3]), config.tz)
        until = row.valid_until
        span = validity.get(row.action)
        if until is None and span is not None and course_end is not None:
            until = valid_until(date.fromisoformat(course_end), span)
        elif until is None:
            endless[row.action] = endless.get(row.action, 0) + 1
        if until is None or until >= today:
            enrolled = conn.execute(
                "SELECT 1 FROM enrollments WHERE course_id = ? AND person_id = ?",
                (row.course_id, row.person_id),
            ).fetchone()
            if enrolled is None:
                unenrolled.append(f"{row.where}: {row.person_id} in {row.course_id}")
        conn.execute(
            "INSERT INTO certificates (number, code, action, course_id, person_id, "
            "full_name, course_name, course_start, course_end, language, issued_on, "
            "valid_until, source, issued_at, changed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported', ?, ?) "
            "ON CONFLICT (number) DO UPDATE SET action = excluded.action, "
            "course_id = excluded.course_id, person_id = excluded.person_id, "
            "issued_on = excluded.issued_on, valid_until = excluded.valid_until, "
            "changed_at = excluded.changed_at WHERE certificates.source = 'imported' AND "
            "(certificates.action, certificates.course_id, certificates.person_id, "
            "certificates.issued_on, coalesce(certificates.valid_until, '')) IS NOT "
            "(excluded.action, excluded.course_id, excluded.person_id, "
            "excluded.issued_on, coalesce(excluded.valid_until, ''))",
            (
                row.number,
                new_code(),
                row.action,
                row.course_id,
                row.person_id,
                person[0],
                course[0],
                _local_day(course[1], False, config.tz),
                course_end,
                person[1] or config.settings.locale,
                row.issued_on.isoformat(),
                until.isoformat() if until else None,
                moment,
                moment,
            ),
        )
    if endless and warnings is not None:
        count = sum(endless.values())
        warnings.append(
            ngettext(
                "{file}: {count} certificate has no valid_until and its action ({actions}) no "
                "validity to work it out from: it never expires and can never be reminded",
                "{file}: {count} certificates have no valid_until and their actions ({actions}) "
                "no validity to work it out from: they never expire and can never be reminded",
                count,
            ).format(
                file=files[0] if files else flat[0].where.rsplit(":", 1)[0],
                count=count,
                actions=", ".join(sorted(endless)),
            )
        )
    if unenrolled and warnings is not None:
        warnings.append(
            ngettext(
                "{file}: {count} certificate still valid names a person not enrolled in its "
                "course ({first}): no renewal reminder can follow it; import that enrollment "
                "too (enrollments.csv)",
                "{file}: {count} certificates still valid name a person not enrolled in their "
                "course (first: {first}): no renewal reminder can follow them; import those "
                "enrollments too (enrollments.csv)",
                len(unenrolled),
            ).format(
                file=files[0] if files else flat[0].where.rsplit(":", 1)[0],
                count=len(unenrolled),
                first=unenrolled[0],
            )
        )
    return int(conn.total_changes - before)
