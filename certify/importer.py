"""CSV exports → store, as one transaction: reading, coercion, referential checks.

Rows stream from each file into a temporary staging table, so memory does not grow with
a file's size; SQLite, not Python sets, finds duplicate keys and dangling references.
Only when every check passed are the staged rows upserted into the real tables.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from operator import itemgetter
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email

from certify.clock import DateFormatError, parse_moment, to_utc_text
from certify.errors import CertifyError, ImportFailed, UsageError
from certify.store import Store

MAX_ERRORS = 100
BATCH = 5_000

csv.field_size_limit(10 * 1024 * 1024)


class CellError(ValueError):
    pass


_TRUE = frozenset({"yes", "y", "true", "1", "ja", "j", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "nee", "", "-"})
_BOOL_WORDS = "yes/no, y/n, true/false, 1/0, ja/nee, j/n, x/empty"


def read_bool(value: str) -> int:
    lowered = value.lower()
    if lowered in _TRUE:
        return 1
    if lowered in _FALSE:
        return 0
    raise CellError(f"cannot read {value!r} as yes or no ({_BOOL_WORDS})")


def read_registered_bool(value: str) -> int | None:
    """present/passed: empty means "not registered" (the row is ignored)."""
    if value == "":
        return None
    lowered = value.lower()
    if lowered in _TRUE:
        return 1
    if lowered in _FALSE:
        return 0
    raise CellError(f"cannot read {value!r} as yes or no ({_BOOL_WORDS})")


_PERCENT = re.compile(r"^(\d{1,3})(?:[.,]0+)?\s*%?$")


def read_percentage(value: str) -> int | None:
    if value == "":
        return None
    match = _PERCENT.match(value)
    if match is None or int(match.group(1)) > 100:
        raise CellError(f"{value!r} is not a percentage from 0 to 100 (a whole number such as 75)")
    return int(match.group(1))


# The everyday address (ASCII dot-atoms, a host name with a letter TLD) is certainly valid;
# anything else goes to email_validator, which knows the rest of the standards.
_PLAIN_EMAIL = re.compile(
    r"^(?=.{1,254}$)(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def read_email(value: str) -> str:
    if value == "":
        raise CellError("an e-mail address is required")
    if _PLAIN_EMAIL.match(value):
        return value
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise CellError(f"{value!r} is not an e-mail address ({exc})") from None
    return value


_ENROLLMENT_STATUS = {
    "": "enrolled",
    "enrolled": "enrolled",
    "ingeschreven": "enrolled",
    "active": "enrolled",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "geannuleerd": "cancelled",
    "afgemeld": "cancelled",
}


def read_enrollment_status(value: str) -> str:
    status = _ENROLLMENT_STATUS.get(value.lower())
    if status is None:
        raise CellError(f"unknown enrollment status {value!r} (enrolled or cancelled)")
    return status


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    columns: tuple[str, ...]  # stored value columns, in staging order after the key
    # column that, when its value changes, makes the row "registered" again
    tracked: str | None = None
    name_fields: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "course_types",
            ("course_type",),
            ("course_type",),
            ("attendance_percentage",),
            ("attendance_percentage", "extra"),
        ),
        TableSpec(
            "courses",
            ("course_id",),
            ("course_id", "name", "status", "end"),
            ("course_type", "start", "location"),
            (
                "name",
                "status",
                "course_type",
                "start",
                "start_is_date",
                "end",
                "end_is_date",
                "location",
                "extra",
            ),
            name_fields=("name",),
        ),
        TableSpec(
            "parts",
            ("part_id",),
            ("part_id", "course_id", "name"),
            ("start", "end", "attendance_required", "pass_required"),
            ("course_id", "name", "start", "end", "attendance_required", "pass_required", "extra"),
            name_fields=("name",),
        ),
        TableSpec(
            "persons",
            ("person_id",),
            ("person_id", "email"),
            ("first_name", "infix", "last_name", "full_name", "language"),
            ("email", "first_name", "infix", "last_name", "full_name", "language", "extra"),
            name_fields=("first_name", "infix", "last_name", "full_name"),
        ),
        TableSpec(
            "enrollments",
            ("course_id", "person_id"),
            ("course_id", "person_id"),
            ("status", "enrolled_at"),
            ("status", "enrolled_at", "extra"),
        ),
        TableSpec(
            "attendance",
            ("part_id", "person_id"),
            ("part_id", "person_id", "present"),
            ("registered_at",),
            ("present", "registered_at", "extra"),
            tracked="present",
        ),
        TableSpec(
            "results",
            ("part_id", "person_id"),
            ("part_id", "person_id", "passed"),
            ("grade", "registered_at"),
            ("passed", "grade", "registered_at", "extra"),
            tracked="passed",
        ),
    )
}
# stored columns derived from other input columns
STORED_FROM: dict[str, tuple[str, ...]] = {
    "start_is_date": ("start",),
    "end_is_date": ("end",),
    "full_name": ("full_name", "first_name", "infix", "last_name"),
}

ORDER = list(TABLES)  # dependency order: referenced tables first

# (table, column, referenced table, referenced key)
REFERENCES = [
    ("parts", "course_id", "courses", "course_id"),
    ("enrollments", "course_id", "courses", "course_id"),
    ("enrollments", "person_id", "persons", "person_id"),
    ("attendance", "part_id", "parts", "part_id"),
    ("attendance", "person_id", "persons", "person_id"),
    ("results", "part_id", "parts", "part_id"),
    ("results", "person_id", "persons", "person_id"),
]


@dataclass
class TableCounts:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0


@dataclass
class ImportReport:
    import_id: int
    files: list[dict[str, Any]]
    counts: dict[str, TableCounts]
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "files": self.files,
            "tables": {name: vars(counts) for name, counts in self.counts.items()},
            "warnings": self.warnings,
        }


@dataclass
class _Errors:
    messages: list[str] = field(default_factory=list)
    total: int = 0

    def add(self, message: str) -> None:
        self.total += 1
        if len(self.messages) < MAX_ERRORS:
            self.messages.append(message)


def collect_files(paths: Sequence[Path], table: str | None) -> list[tuple[Path, str]]:
    """(file, table) pairs for the paths given; directories yield every known file in them."""
    if table is not None and table not in TABLES:
        raise UsageError(f"unknown table {table!r} (one of: {', '.join(TABLES)})")
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            if table is not None:
                raise UsageError("--table goes with a single file, not a directory")
            by_name = {child.name.lower(): child for child in path.iterdir() if child.is_file()}
            for name in ORDER:
                if TABLES[name].file in by_name:
                    found.append((by_name[TABLES[name].file], name))
        elif path.is_file():
            name = table or path.name.lower().removesuffix(".csv")
            if name not in TABLES:
                raise CertifyError(
                    f"{path}: not a known table name; rename it to one of "
                    f"{', '.join(spec.file for spec in TABLES.values())} or pass --table NAME"
                )
            found.append((path, name))
        else:
            raise CertifyError(f"{path}: no such file or directory")
    if not found:
        raise CertifyError(
            f"no known CSV files in {', '.join(map(str, paths))} "
            f"(expected names such as {', '.join(spec.file for spec in TABLES.values())})"
        )
    return found


def detect_encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _detect_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    return max(counts, key=lambda delimiter: counts[delimiter])


class _FileReader:
    """Rows of one CSV file as (start line, values), with header checks."""

    def __init__(self, path: Path, spec: TableSpec, errors: _Errors, warnings: list[str]) -> None:
        self.path = path
        self.spec = spec
        self.errors = errors
        self.warnings = warnings
        self.encoding = detect_encoding(path)
        if self.encoding == "cp1252":
            warnings.append(f"{path}: not valid UTF-8; read as Windows-1252 (an Excel export?)")

    header: tuple[str, ...] = ()

    def present_columns(self) -> set[str]:
        """The stored columns this file speaks for; the others keep their stored values."""
        given = set(self.header)
        stored = {"extra", "registered_at"}  # registered_at is set even when not given
        for column in self.spec.columns:
            sources = STORED_FROM.get(column, (column,))
            if given.intersection(sources):
                stored.add(column)
        return stored

    def rows(self) -> Iterator[tuple[int, tuple[str, ...], dict[str, str]]]:
        with self.path.open(encoding=self.encoding, newline="") as handle:
            first = handle.readline()
            if not first.strip():
                self.warnings.append(f"{self.path}: empty file; nothing to import")
                return
            handle.seek(0)
            reader = csv.reader(handle, delimiter=_detect_delimiter(first))
            header = [name.strip().lower() for name in next(reader)]
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0].lstrip("\ufeff")
            self.header = tuple(header)
            missing = [column for column in self.spec.required if column not in header]
            if missing:
                for column in missing:
                    self.errors.add(
                        f"{self.path}:1: missing required column '{column}' "
                        f"(required: {', '.join(self.spec.required)}; found: {', '.join(header)})"
                    )
                return
            seen: set[str] = set()
            for column in header:
                if column in seen and column:
                    self.errors.add(f"{self.path}:1: column '{column}' appears twice")
                seen.add(column)
            # each row becomes a tuple in spec.known order; a missing optional column reads ""
            sentinel = len(header)
            positions = [header.index(n) if n in header else sentinel for n in self.spec.known]
            pick = itemgetter(*positions)
            extra_names = [name for name in header if name not in self.spec.known and name]
            extra_index = [
                i for i, name in enumerate(header) if name not in self.spec.known and name
            ]
            name_positions = [self.spec.known.index(n) for n in self.spec.name_fields]
            width = len(header)
            line_end = reader.line_num
            any_rows = False
            for values in reader:
                line = line_end + 1
                line_end = reader.line_num
                if not values or not "".join(values).strip():
                    continue
                any_rows = True
                if len(values) > width:
                    if any(v.strip() for v in values[width:]):
                        self.errors.add(
                            f"{self.path}:{line}: {len(values)} fields but the header has {width} "
                            "(an unquoted delimiter in a value?)"
                        )
                        continue
                    values = values[:width]
                elif len(values) < width:
                    values = values + [""] * (width - len(values))
                values.append("")
                known = tuple(map(str.strip, pick(values)))
                extra = (
                    {
                        name: values[i].strip()
                        for name, i in zip(extra_names, extra_index, strict=True)
                    }
                    if extra_index
                    else {}
                )
                for position in name_positions:
                    value = known[position]
                    if "\n" in value or "\r" in value:
                        known = (*known[:position], " ".join(value.split()), *known[position + 1 :])
                        self.warnings.append(
                            f"{self.path}:{line}: column '{self.spec.known[position]}': "
                            "line break replaced by a space"
                        )
                yield line, known, extra
            if not any_rows:
                self.warnings.append(f"{self.path}: header only; nothing to import")


def _full_name(first: str, infix: str, last: str) -> str:
    return " ".join(part for part in (first, infix, last) if part)


class _Coercer:
    """Turns one row's text into the staged values of its table."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        # exports repeat the same moments a great deal; bounded so memory stays flat
        self._moments: dict[tuple[str, bool], str] = {}

    def moment(self, value: str, *, end_of_day: bool = False) -> str | None:
        if value == "":
            return None
        key = (value, end_of_day)
        cached = self._moments.get(key)
        if cached is not None:
            return cached
        try:
            text = to_utc_text(parse_moment(value, self.tz, end_of_day=end_of_day))
        except DateFormatError as exc:
            raise CellError(str(exc)) from None
        if len(self._moments) > 100_000:
            self._moments.clear()
        self._moments[key] = text
        return text

    def for_table(self, table: str) -> Callable[[tuple[str, ...]], tuple[Any, ...] | None]:
        """The coercion of one table: a row in spec.known order → staged values (None: ignore)."""
        return getattr(self, f"_{table}")  # type: ignore[no-any-return]

    def _attendance(self, row: tuple[str, ...]) -> tuple[Any, ...] | None:
        part_id, person_id, present_text, registered_at = row
        present = read_registered_bool(present_text)
        if present is None:
            return None
        return (part_id, person_id, present, self.moment(registered_at))

    def _results(self, row: tuple[str, ...]) -> tuple[Any, ...] | None:
        part_id, person_id, passed_text, grade, registered_at = row
        passed = read_registered_bool(passed_text)
        if passed is None:
            return None
        return (part_id, person_id, passed, grade or None, self.moment(registered_at))

    def _enrollments(self, row: tuple[str, ...]) -> tuple[Any, ...]:
        course_id, person_id, status, enrolled_at = row
        return (course_id, person_id, read_enrollment_status(status), self.moment(enrolled_at))

    def _persons(self, row: tuple[str, ...]) -> tuple[Any, ...]:
        person_id, email, first, infix, last, full, language = row
        full = full or _full_name(first, infix, last)
        return (person_id, read_email(email), first or None, infix or None, last or None,
                full or None, language or None)  # fmt: skip

    def _parts(self, row: tuple[str, ...]) -> tuple[Any, ...]:
        part_id, course_id, name, start, end, attendance_required, pass_required = row
        return (part_id, course_id, name, self.moment(start), self.moment(end, end_of_day=True),
                read_bool(attendance_required), read_bool(pass_required))  # fmt: skip

    def _courses(self, row: tuple[str, ...]) -> tuple[Any, ...]:
        course_id, name, status, end, course_type, start, location = row
        if end == "":
            raise CellError("an end date is required (such as 2026-11-05 or 05-11-2026)")
        return (course_id, name, status, course_type or None, self.moment(start),
                int(_is_date(start)), self.moment(end, end_of_day=True), int(_is_date(end)),
                location or None)  # fmt: skip

    def _course_types(self, row: tuple[str, ...]) -> tuple[Any, ...]:
        course_type, percentage = row
        return (course_type, read_percentage(percentage))


_DATE_ONLY = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})\s*$")


def _is_date(value: str) -> bool:
    return bool(_DATE_ONLY.match(value))


def _stage_name(table: str) -> str:
    return f"stage_{table}"


def _create_stages(conn: sqlite3.Connection) -> None:
    for spec in TABLES.values():
        columns = ", ".join(f'"{c}"' for c in (*spec.key, *spec.columns))
        conn.execute(f"DROP TABLE IF EXISTS temp.{_stage_name(spec.name)}")
        conn.execute(
            f"CREATE TEMP TABLE {_stage_name(spec.name)} (file TEXT, line INTEGER, {columns})"
        )


def _stage_file(
    conn: sqlite3.Connection,
    path: Path,
    spec: TableSpec,
    coercer: _Coercer,
    errors: _Errors,
    warnings: list[str],
    present: set[str],
) -> int:
    reader = _FileReader(path, spec, errors, warnings)
    file = str(path)
    placeholders = ", ".join("?" * (2 + len(spec.key) + len(spec.columns)))
    insert = f"INSERT INTO {_stage_name(spec.name)} VALUES ({placeholders})"
    count = 0

    coerce = coercer.for_table(spec.name)
    key_width = len(spec.key)

    def staged() -> Iterator[tuple[Any, ...]]:
        nonlocal count
        for line, known, extra in reader.rows():
            if not all(known[:key_width]):
                column = spec.key[[bool(v) for v in known[:key_width]].index(False)]
                errors.add(f"{file}:{line}: column '{column}': a value is required (the key)")
            else:
                try:
                    values = coerce(known)
                except CellError as exc:
                    errors.add(f"{file}:{line}: column '{_blame(spec, known, exc)}': {exc}")
                    # staged by its key all the same, so rows that refer to it raise no echo
                    values = (*known[:key_width], *([None] * (len(spec.columns) - 1)))
                if values is None:
                    continue
                count += 1
                extra_json = json.dumps(extra, ensure_ascii=False) if extra else None
                yield (file, line, *values, extra_json)

    conn.executemany(insert, staged())
    present.update(reader.present_columns())
    conn.execute(
        f"CREATE INDEX IF NOT EXISTS temp.{_stage_name(spec.name)}_key "
        f"ON {_stage_name(spec.name)} ({', '.join(spec.key)})"
    )
    return count


def _blame(spec: TableSpec, row: tuple[str, ...], exc: CellError) -> str:
    """The column whose value a coercion error quotes."""
    text = str(exc)
    known = dict(zip(spec.known, row, strict=True))
    for column in spec.known:
        value = known.get(column, "")
        if value and repr(value) in text:
            return column
    if "e-mail" in text:
        return "email"
    if "end date" in text:
        return "end"
    return spec.required[-1]


def _check_duplicates(conn: sqlite3.Connection, errors: _Errors) -> None:
    for spec in TABLES.values():
        key = ", ".join(spec.key)
        stage = _stage_name(spec.name)
        duplicates = conn.execute(
            f"SELECT {key} FROM {stage} GROUP BY {key} HAVING count(*) > 1 LIMIT {MAX_ERRORS}"
        ).fetchall()
        match = " AND ".join(f"{k} = ?" for k in spec.key)
        for duplicate in duplicates:
            lines = conn.execute(
                f"SELECT file || ':' || line FROM {stage} WHERE {match} ORDER BY file, line",
                duplicate,
            ).fetchall()
            places = " and ".join(place for (place,) in lines)
            first = lines[0][0]
            row = (*duplicate, places)
            value = " + ".join(str(part) for part in row[:-1])
            errors.add(
                f"{first}: duplicate key {'+'.join(spec.key)} = {value!r} "
                f"(lines {places}); keep one row per key"
            )


def _check_references(conn: sqlite3.Connection, errors: _Errors, warnings: list[str]) -> None:
    for table, column, target, target_key in REFERENCES:
        rows = conn.execute(
            f"SELECT s.file, s.line, s.{column} FROM {_stage_name(table)} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{target_key} = s.{column}) "
            f"AND NOT EXISTS (SELECT 1 FROM {_stage_name(target)} t WHERE t.{target_key} = s.{column}) "
            f"ORDER BY s.file, s.line LIMIT {MAX_ERRORS}"
        ).fetchall()
        for file, line, value in rows:
            errors.add(
                f"{file}:{line}: column '{column}': {target.removesuffix('s')} {value!r} exists "
                f"neither in the database nor in this import (import {TABLES[target].file} too?)"
            )
    for file, line, value in conn.execute(
        f"SELECT s.file, s.line, s.course_type FROM {_stage_name('courses')} s "
        "WHERE s.course_type IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM course_types t WHERE t.course_type = s.course_type) "
        f"AND NOT EXISTS (SELECT 1 FROM {_stage_name('course_types')} t "
        "WHERE t.course_type = s.course_type) ORDER BY s.file, s.line LIMIT 20"
    ):
        warnings.append(
            f"{file}:{line}: column 'course_type': unknown course type {value!r}; "
            "the course counts with 100 % attendance until the type is imported"
        )


def _apply(
    conn: sqlite3.Connection,
    spec: TableSpec,
    import_id: int,
    now: str,
    snapshot: bool,
    present: set[str],
) -> TableCounts:
    stage = _stage_name(spec.name)
    table = spec.name
    counts = TableCounts(
        rows=conn.execute(f"SELECT count(*) FROM {stage}").fetchone()[0],
    )
    match = " AND ".join(f"{table}.{k} = s.{k}" for k in spec.key)
    params = {"id": import_id, "now": now}
    assignments = []
    differs = []
    for column in spec.columns:
        if column not in present:
            continue
        if column == "registered_at":
            assignments.append(
                f"registered_at = coalesce(s.registered_at, CASE WHEN {table}.{spec.tracked} "
                f"IS s.{spec.tracked} THEN {table}.registered_at ELSE :now END)"
            )
            differs.append(
                f"(s.registered_at IS NOT NULL AND s.registered_at IS NOT {table}.registered_at)"
            )
        else:
            assignments.append(f'"{column}" = s."{column}"')
            differs.append(f'{table}."{column}" IS NOT s."{column}"')
    counts.updated = conn.execute(
        f"UPDATE {table} SET {', '.join(assignments)}, import_id = :id "
        f"FROM {stage} s WHERE {match} AND ({' OR '.join(differs)})",
        params,
    ).rowcount
    columns = [*spec.key, *spec.columns]
    select = [
        "coalesce(s.registered_at, :now)" if column == "registered_at" else f's."{column}"'
        for column in columns
    ]
    target_columns = [f'"{c}"' for c in columns] + ["import_id"]
    select.append(":id")
    if table == "enrollments":
        target_columns.append("first_seen_at")
        select.append(":now")
    counts.inserted = conn.execute(
        f"INSERT INTO {table} ({', '.join(target_columns)}) SELECT {', '.join(select)} "
        f"FROM {stage} s WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {match})",
        params,
    ).rowcount
    counts.unchanged = counts.rows - counts.inserted - counts.updated
    if snapshot:
        missing = (
            f"NOT EXISTS (SELECT 1 FROM {stage} s WHERE "
            + " AND ".join(f"s.{k} = {table}.{k}" for k in spec.key)
            + ")"
        )
        if table == "enrollments":
            # a participant missing from the export has left the course: cancel, keep history
            counts.removed = conn.execute(
                f"UPDATE enrollments SET status = 'cancelled', import_id = :id "
                f"WHERE status != 'cancelled' AND {missing}",
                params,
            ).rowcount
        else:
            counts.removed = conn.execute(f"DELETE FROM {table} WHERE {missing}").rowcount
    return counts


def _check_orphans(
    conn: sqlite3.Connection, errors: _Errors, snapshot_files: dict[str, str]
) -> None:
    """After a --snapshot removed rows: nothing may still point at them."""
    for table, column, target, target_key in REFERENCES:
        if target not in snapshot_files:
            continue
        for (value,) in conn.execute(
            f"SELECT DISTINCT {column} FROM {table} x WHERE NOT EXISTS "
            f"(SELECT 1 FROM {target} t WHERE t.{target_key} = x.{column}) LIMIT 10"
        ):
            errors.add(
                f"{snapshot_files[target]}: --snapshot would remove {target.removesuffix('s')} "
                f"{value!r}, but {table} still refer to it; include it, or give "
                f"{TABLES[table].file} in the same --snapshot import"
            )


def import_files(
    store: Store,
    paths: Sequence[Path],
    *,
    tz: tzinfo,
    now: datetime,
    snapshot: bool = False,
    table: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import CSV files in one transaction; on any error nothing changes (ImportFailed)."""
    files = collect_files(paths, table)
    errors = _Errors()
    warnings: list[str] = []
    coercer = _Coercer(tz)
    now_text = to_utc_text(now)
    conn = store.conn
    file_report: list[dict[str, Any]] = []
    present: dict[str, set[str]] = {name: set() for name in TABLES}
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: bounded, whatever the file size
    with store.transaction():
        _create_stages(conn)
        try:
            for path, name in files:
                if progress:
                    progress(f"reading {path}")
                rows = _stage_file(
                    conn, path, TABLES[name], coercer, errors, warnings, present[name]
                )
                file_report.append({"path": str(path), "table": name, "rows": rows})
            _check_duplicates(conn, errors)
            _check_references(conn, errors, warnings)
            if errors.total:
                raise ImportFailed("import", errors.messages, total=errors.total,
                                   hint="nothing was imported; fix the lines above and run again")  # fmt: skip
            import_id = conn.execute(
                "INSERT INTO imports (started_at, now, snapshot, files, counts) "
                "VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, ?, '{}')",
                (now_text, int(snapshot), json.dumps(file_report, ensure_ascii=False)),
            ).lastrowid
            assert import_id is not None
            given = {name for _, name in files}
            counts: dict[str, TableCounts] = {}
            for name in ORDER:
                if name in given:
                    if progress:
                        progress(f"storing {name}")
                    counts[name] = _apply(
                        conn, TABLES[name], import_id, now_text, snapshot, present[name]
                    )
            if snapshot:
                _check_orphans(conn, errors, {name: str(path) for path, name in files})
                if errors.total:
                    raise ImportFailed("import", errors.messages, total=errors.total,
                                       hint="nothing was imported")  # fmt: skip
            conn.execute(
                "UPDATE imports SET counts = ? WHERE id = ?",
                (json.dumps({k: vars(v) for k, v in counts.items()}), import_id),
            )
        finally:
            for spec in TABLES.values():
                conn.execute(f"DROP TABLE IF EXISTS temp.{_stage_name(spec.name)}")
    return ImportReport(import_id, file_report, counts, warnings)


__all__ = ["TABLES", "CertifyError", "ImportReport", "import_files"]
