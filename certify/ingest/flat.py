"""A flat export: ONE file, one row per participant per part, split into courses, parts,
persons, enrollments, attendance and results as it streams in.

What repeats over rows (a course, a part, a person, an enrollment) is written once, from
its first row; a later row that says something else about it is an error naming both
places. Attendance and results are one row each; a second one is a duplicate key, which
the store's checks report as for separate files.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

from certify.ingest.cells import CellError, read_registered_bool
from certify.ingest.csvfiles import FileReader
from certify.ingest.discover import Source
from certify.ingest.load import BATCH, Loaded, Target, upsert_sql
from certify.ingest.settings import FLAT_CERTIFICATE, FLAT_OPTIONAL, FLAT_REQUIRED
from certify.ingest.tables import NOUNS, TABLES, Converter, KeyMissing, Row, TableSpec
from certify.locale import _

FLAT_SPEC = TableSpec(
    name="flat",
    key=("course_id",),
    required=FLAT_REQUIRED,
    optional=FLAT_OPTIONAL,
    columns=(),
    name_fields=("course_name", "part_name", "first_name", "infix", "last_name", "full_name"),
)
# the tables a flat file fills, in the order they are written
FLAT_TABLES = ("courses", "parts", "persons", "enrollments", "attendance", "results")
# (table, its column) → the flat file's column; the others have the same name in both
_FLAT_NAME = {
    ("courses", "name"): "course_name",
    ("courses", "status"): "course_status",
    ("courses", "end"): "course_end",
    ("courses", "start"): "course_start",
    ("courses", "location"): "course_location",
    ("parts", "name"): "part_name",
    ("parts", "start"): "part_start",
    ("parts", "end"): "part_end",
    ("enrollments", "status"): "enrollment_status",
}
# rows kept per table before they are written together
_FLUSH = 20 * BATCH


class FlatCertificate(NamedTuple):
    """A certificate of the previous system that a flat file's rows name: the columns of
    certificates.csv, where the first row naming it is, and how messages name its columns."""

    number: str
    person_id: str
    course_id: str
    action: str
    issued_on: str
    valid_until: str
    where: str
    names: dict[str, str]


def flat_column(table: str, column: str) -> str:
    return _FLAT_NAME.get((table, column), column)


@dataclass
class _Entity:
    """One repeating table of a flat file: its rows' first texts and values, by key."""

    table: str
    convert: Converter
    cells: Callable[[list[str]], Any]  # the texts of a row that make this table's row
    names: tuple[str, ...]  # the flat columns of those texts, in that order
    seen: dict[Any, tuple[Any, Row]] = field(default_factory=dict)


class _Tables:
    """Rows of each table, written in batches as they come."""

    def __init__(self, conn: sqlite3.Connection, sqls: Mapping[str, Callable[..., str]]) -> None:
        self.conn = conn
        self.sqls = sqls
        self.pending: dict[str, list[Row]] = {name: [] for name in sqls}
        self.stored = dict.fromkeys(sqls, 0)
        self._batch_sql: dict[str, str] = {}

    def flush(self, table: str, *, final: bool = False) -> None:
        rows = self.pending[table]
        whole = len(rows) - len(rows) % BATCH
        if whole:
            sql = self._batch_sql.get(table)
            if sql is None:  # built once: a statement of BATCH rows is long
                sql = self._batch_sql[table] = self.sqls[table](rows=BATCH)
            params = (
                tuple(chain.from_iterable(rows[start : start + BATCH]))
                for start in range(0, whole, BATCH)
            )
            self.stored[table] += self.conn.executemany(sql, params).rowcount
        # in place: the split holds on to these lists
        del rows[:whole]
        if final and rows:
            self.stored[table] += self.conn.executemany(self.sqls[table](), rows).rowcount
            rows.clear()


def load_flat(
    target: Target,
    source: Source,
    *,
    file_index: int,
    certificates: list[FlatCertificate] | None = None,
) -> dict[str, Loaded]:
    """Split one flat file into its tables; what each table got from it. The certificates
    its rows name (certificate_number and the rest) go to `certificates`, for the register
    to take in the same transaction."""
    reader = FileReader(source.path, FLAT_SPEC, target.errors.add, target.warnings, source.options)
    if not reader.open():
        return dict.fromkeys(
            FLAT_TABLES, Loaded(0, empty=reader.empty, unread=reader.unread, label=reader.label)
        )
    reader.keep_no_extra()
    file = reader.label
    width = len(reader.header)
    at = dict(zip(FLAT_SPEC.known, reader.positions, strict=True))
    given = set(reader.header)
    blank = width  # a cell that holds "" (see _split)
    part_at = at["part_id"] if "part_id" in given else width + 1
    person_at = at["person_id"] if "person_id" in given else width + 2
    derived = {"part_id": part_at > width, "person_id": person_at > width}

    def positions(table: str) -> tuple[int, ...]:
        found = []
        for column in TABLES[table].known:
            if column == "part_id":
                found.append(part_at)
            elif column == "person_id":
                found.append(person_at)
            else:
                name = flat_column(table, column)
                found.append(at.get(name, blank))
        return tuple(found)

    def header_of(table: str) -> list[str]:
        """The table's columns this flat file speaks for."""
        return [
            column
            for column in TABLES[table].known
            if column in ("part_id", "person_id") or flat_column(table, column) in given
        ]

    coercer = target.coercer
    sqls = {
        table: functools.partial(
            upsert_sql,
            TABLES[table],
            TABLES[table].columns_given(header_of(table)),
            target.import_id,
            target.now,
            file_index=file_index,
            extra=False,
        )
        for table in FLAT_TABLES
    }
    converters = {table: coercer.converter(table, positions(table), file) for table in FLAT_TABLES}
    entities = [
        _Entity(table, converters[table], itemgetter(*positions(table)), _names(table, derived))
        for table in ("courses", "parts", "persons", "enrollments")
    ]
    tables = _Tables(target.conn, sqls)
    pending = tables.pending
    course_at, name_at, email_at = at["course_id"], at["part_name"], at["email"]

    def once(
        entity: _Entity, key: Any, cells: Any, first: Any, values: list[str], line: int
    ) -> bool:
        """A course, part, person or enrollment met for the first time, or said otherwise:
        whether the row agrees with the first (an error when not)."""
        row = _convert(entity.table, entity.convert, values, line, derived)
        assert row is not None  # only attendance and results ignore rows
        if first is None:
            entity.seen[key] = (cells, row)
            pending[entity.table].append(row)
        elif row[:-1] != first[1][:-1]:
            target.errors.add(_disagree(file, line, reader, entity, key, cells, first))
            return False
        return True

    def agrees(entity: _Entity, key: Any, cells: Any, values: list[str], line: int) -> bool:
        """Whether a row agrees with the first of its course (or part), once() when not known."""
        first = entity.seen.get(key)
        if first is not None and first[0] == cells:
            return True
        return once(entity, key, cells, first, values, line)

    # the hot loop of a flat import. Rows of one course and part come together: a row whose
    # course (or part) cells are those of the row before agrees with it at the cost of one
    # tuple comparison. Attendance and results are built here from ids the part and person
    # of the row have already read (an id that does not read never enters `seen`).
    course, part, person, enrollment = entities
    course_cells, part_cells = course.cells, part.cells
    person_seen, person_cells = person.seen, person.cells
    enrollment_seen, enrollment_cells = enrollment.seen, enrollment.cells
    attendance_rows, result_rows = pending["attendance"], pending["results"]
    erased = coercer.erased
    present_at, present_of = at["present"], coercer.yes_no("present", read_registered_bool)
    passed_at, passed_of = at["passed"], coercer.yes_no("passed", read_registered_bool)
    grade_at = at.get("grade", blank)
    certificate = _certificates(target, reader, at, given, certificates)
    registered_at = at.get("registered_at", blank)
    registered_of = coercer.moments("registered_at")
    timed, graded = registered_at != blank, grade_at != blank
    derive_part, derive_person = derived["part_id"], derived["person_id"]
    last_course: Any = None  # the course cells of the row before, and its id
    last_course_id = ""
    last_part: Any = None
    last_part_id = ""
    # the cells the file holds of a row's course and part (not the ids made from them):
    # when they are those of the row before, and its course and part held, so do these
    written_at = {*positions("courses"), *positions("parts")} - {width + 1, width + 2}
    course_and_part = itemgetter(*sorted(written_at))
    last_both: Any = None

    def split(values: list[str], line: int) -> Row | None:
        nonlocal last_course, last_course_id, last_part, last_part_id, last_both
        if len(values) == width:
            values.append("")
        both = course_and_part(values)
        if both == last_both:
            if derive_part:
                values.append(last_part_id)
            elif derive_person:
                values.append("")
        else:
            if derive_part:
                values.append(f"{values[course_at].strip()}/{values[name_at].strip()}")
            elif derive_person:
                values.append("")
            cells = course_cells(values)
            if cells != last_course:  # one that disagrees is not the one next rows are held to
                key = values[course_at].strip()
                held = agrees(course, key, cells, values, line)
                last_course, last_course_id = (cells if held else None), key
            cells = part_cells(values)
            if cells != last_part:
                key = values[part_at].strip()
                held = agrees(part, key, cells, values, line)
                last_part, last_part_id = (cells if held else None), key
            last_both = both if last_course is not None and last_part is not None else None
        if derive_person:
            values.append(values[email_at].strip().lower())
        person_id = values[person_at].strip()
        if person_id in erased:
            coercer.erased_rows += 1
            return None
        cells = person_cells(values)
        first = person_seen.get(person_id)
        if first is None or first[0] != cells:
            once(person, person_id, cells, first, values, line)
        pair = (last_course_id, person_id)
        cells = enrollment_cells(values)
        first = enrollment_seen.get(pair)
        if first is None or first[0] != cells:
            once(enrollment, pair, cells, first, values, line)
        # a file without registered_at or grade reads "" there: None, with no lookup
        present = present_of[values[present_at]]
        if present is not None:
            moment = registered_of[values[registered_at]] if timed else None
            attendance_rows.append((last_part_id, person_id, present, moment, line))
        passed = passed_of[values[passed_at]]
        if passed is not None:
            grade = (values[grade_at].strip() or None) if graded else None
            moment = registered_of[values[registered_at]] if timed else None
            result_rows.append((last_part_id, person_id, passed, grade, moment, line))
        if certificate is not None:
            certificate(values, line, last_course_id, person_id)
        if len(attendance_rows) >= _FLUSH:  # written while the file streams
            for name in FLAT_TABLES:
                tables.flush(name)
        return None

    def reject(line: int, exc: CellError, values: list[str]) -> None:
        said = _("column {column}: {problem}").format(
            column=reader.describe(exc.column), problem=exc
        )
        target.errors.add(f"{file}:{line}: {said}")

    for _row in reader.rows(split, reject):
        pass  # the rows are written as they are split
    stored: dict[str, Loaded] = {}
    for table in FLAT_TABLES:
        tables.flush(table, final=True)
        stored[table] = Loaded(tables.stored[table], reader.empty, unread=False, label=file)
    return stored


def _certificates(
    target: Target,
    reader: FileReader,
    at: dict[str, int],
    given: set[str],
    found: list[FlatCertificate] | None,
) -> Callable[[list[str], int, str, str], None] | None:
    """What takes the certificate of a row, when the file maps certificate_number: the
    first row of a participant that names one; a later row of theirs that names another,
    or another participant's row with the same number, is an error naming both places."""
    if "certificate_number" not in given or found is None:
        return None
    file = reader.label
    lacking = [c for c in ("certificate_action", "certificate_issued_on") if c not in given]
    if lacking:
        said = _(
            "column certificate_number: a certificate needs {columns} too (map its header in "
            "import.flat.columns)"
        ).format(columns=" + ".join(lacking))
        target.errors.add(f"{file}:1: {said}")
        return None
    columns = list(FLAT_CERTIFICATE)
    positions = [at[column] if column in given else -1 for column in columns]
    names = {FLAT_CERTIFICATE[c]: f"column {reader.describe(c)}" for c in columns}
    by_participant: dict[tuple[str, str], tuple[tuple[str, ...], int]] = {}
    by_number: dict[str, tuple[tuple[str, str], int]] = {}

    def take(values: list[str], line: int, course_id: str, person_id: str) -> None:
        cells = tuple(values[i].strip() if i >= 0 else "" for i in positions)
        if not cells[0]:
            return  # this row names no certificate
        participant = (course_id, person_id)
        first = by_participant.get(participant)
        if first is not None:
            if first[0] != cells:
                index = next(
                    i for i, (a, b) in enumerate(zip(cells, first[0], strict=True)) if a != b
                )
                said = _(
                    "column {column}: the certificate of enrollment {key} has {value} here but "
                    "{first} at {place}; rows that repeat it must agree"
                ).format(
                    column=reader.describe(columns[index]),
                    key=f"{course_id!r} + {person_id!r}",
                    value=repr(cells[index]),
                    first=repr(first[0][index]),
                    place=f"{file}:{first[1]}",
                )
                target.errors.add(f"{file}:{line}: {said}")
            return
        other = by_number.get(cells[0])
        if other is not None:
            said = _(
                "column {column}: certificate {number} is that of enrollment {key} at {place} "
                "already; a number names one certificate"
            ).format(
                column=reader.describe("certificate_number"),
                number=repr(cells[0]),
                key=" + ".join(map(repr, other[0])),
                place=f"{file}:{other[1]}",
            )
            target.errors.add(f"{file}:{line}: {said}")
            return
        by_participant[participant] = (cells, line)
        by_number[cells[0]] = (participant, line)
        number, action, issued_on, valid_until = cells
        found.append(
            FlatCertificate(
                number,
                person_id,
                course_id,
                action,
                issued_on,
                valid_until,
                f"{file}:{line}",
                names,
            )
        )

    return take


def _names(table: str, derived: dict[str, bool]) -> tuple[str, ...]:
    names = []
    for column in TABLES[table].known:
        if derived.get(column):
            names.append("email" if column == "person_id" else "part_name")
        else:
            names.append(flat_column(table, column))
    return tuple(names)


def _convert(
    table: str, convert: Converter, values: list[str], line: int, derived: dict[str, bool]
) -> Row | None:
    """One table's row of a flat row; a cell problem is named by the flat file's column."""
    try:
        return convert(values, line)
    except CellError as exc:
        raise _renamed(table, exc, derived) from None


def _renamed(table: str, exc: CellError, derived: dict[str, bool]) -> CellError:
    """A table's cell problem as the flat file's column: a derived key by its source."""
    column = exc.column
    if isinstance(exc, KeyMissing) and derived.get(column):
        return CellError(
            "email" if column == "person_id" else "part_name", _("a value is required")
        )
    return CellError(flat_column(table, column), str(exc))


def _disagree(
    file: str,
    line: int,
    reader: FileReader,
    entity: _Entity,
    key: Any,
    cells: tuple[str, ...],
    first: tuple[Any, Row],
) -> str:
    """Two rows that say different things about one course, part, person or enrollment."""
    first_cells, first_row = first
    first_line = first_row[-1]
    column = next(
        (
            name
            for name, now, then in zip(entity.names, cells, first_cells, strict=True)
            if now.strip() != then.strip()
        ),
        entity.names[0],
    )
    index = entity.names.index(column)
    shown = " + ".join(key) if isinstance(key, tuple) else key
    said = _(
        "column {column}: {noun} {key} has {value} here but {first} at {place}; rows that "
        "repeat it must agree"
    ).format(
        column=reader.describe(column),
        noun=_(NOUNS[entity.table]),
        key=repr(shown),
        value=repr(cells[index].strip()),
        first=repr(first_cells[index].strip()),
        place=f"{file}:{first_line}",
    )
    return f"{file}:{line}: {said}"


def create_course_types(conn: sqlite3.Connection, import_id: int, flat_files: list[int]) -> int:
    """Create the course types a flat file names that no course_types.csv has, with the
    default attendance percentage (100); how many were created."""
    if not flat_files:
        return 0
    marks = ", ".join("?" * len(flat_files))
    return conn.execute(
        "INSERT INTO course_types (course_type, attendance_percentage, import_id, "
        "created_import, seen_import, seen_file, seen_line) "
        "SELECT course_type, 100, ?1, ?1, ?1, min(seen_file), min(seen_line) FROM courses c "
        f"WHERE c.seen_import = ?1 AND c.seen_file IN ({marks}) AND c.course_type IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM course_types t WHERE t.course_type = c.course_type) "
        "GROUP BY course_type",
        (import_id, *flat_files),
    ).rowcount
