"""The tables an export may hold: their columns, keys and references, and the cell readers."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, TypeVar

from certify.clock import DateFormatError, numeric_date, parse_moment, to_utc_text
from certify.ingest.cells import (
    CellError,
    read_bool,
    read_email,
    read_enrollment_status,
    read_percentage,
    read_registered_bool,
)
from certify.locale import N_, _

MOMENT_CACHE = 262_144  # distinct texts of a column remembered (dates, words): a bound


# what one row of a table, and its rows, are called in a message
NOUNS = {
    "courses": N_("course"),
    "parts": N_("part"),
    "persons": N_("person"),
    "enrollments": N_("enrollment"),
    "course_types": N_("course type"),
}
_ROWS_NOUNS = {
    "course_types": N_("course types"),
    "courses": N_("courses"),
    "parts": N_("parts"),
    "persons": N_("persons"),
    "enrollments": N_("enrollments"),
    "attendance": N_("attendance rows"),
    "results": N_("results"),
}


@dataclass(frozen=True)
class TableSpec:
    """One table of an export: its file, key, input columns and stored columns."""

    name: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    # stored value columns, after the key, in the order the table's coercion returns them
    columns: tuple[str, ...]
    # column that, when its value changes, makes the row "registered" again
    tracked: str | None = None
    # names, in which a line break is replaced by a space (with a warning)
    name_fields: tuple[str, ...] = ()

    @property
    def rows_noun(self) -> str:
        """What the table's rows are called in a message: `enrollments`, `attendance rows`."""
        return _(_ROWS_NOUNS[self.name])

    @property
    def file(self) -> str:
        """The export's file name for this table."""
        return f"{self.name}.csv"

    @property
    def known(self) -> tuple[str, ...]:
        """The input columns this table reads; a row's values come in this order."""
        return self.required + self.optional

    def columns_given(self, header: Sequence[str]) -> set[str]:
        """The stored columns a file with this header speaks for; the others keep their values."""
        given = set(header)
        stored = {"extra", "registered_at"}  # registered_at is set even when not given
        for column in self.columns:
            sources = STORED_FROM.get(column, (column,))
            if given.intersection(sources):
                stored.add(column)
        return stored


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            name="course_types",
            key=("course_type",),
            required=("course_type",),
            optional=("attendance_percentage",),
            columns=("attendance_percentage", "extra"),
        ),
        TableSpec(
            name="courses",
            key=("course_id",),
            required=("course_id", "name", "status", "end"),
            optional=("course_type", "start", "location"),
            columns=(
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
            name="parts",
            key=("part_id",),
            required=("part_id", "course_id", "name"),
            optional=("start", "end", "attendance_required", "pass_required"),
            columns=(
                "course_id",
                "name",
                "start",
                "end",
                "attendance_required",
                "pass_required",
                "extra",
            ),
            name_fields=("name",),
        ),
        TableSpec(
            name="persons",
            key=("person_id",),
            required=("person_id", "email"),
            optional=("first_name", "infix", "last_name", "full_name", "language"),
            columns=("email", "first_name", "infix", "last_name", "full_name", "language", "extra"),
            name_fields=("first_name", "infix", "last_name", "full_name"),
        ),
        TableSpec(
            name="enrollments",
            key=("course_id", "person_id"),
            required=("course_id", "person_id"),
            optional=("status", "enrolled_at"),
            columns=("status", "enrolled_at", "extra"),
        ),
        TableSpec(
            name="attendance",
            key=("part_id", "person_id"),
            required=("part_id", "person_id", "present"),
            optional=("registered_at",),
            columns=("present", "registered_at", "extra"),
            tracked="present",
        ),
        TableSpec(
            name="results",
            key=("part_id", "person_id"),
            required=("part_id", "person_id", "passed"),
            optional=("grade", "registered_at"),
            columns=("passed", "grade", "registered_at", "extra"),
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


def _full_name(first: str, infix: str, last: str) -> str:
    return " ".join(filter(None, (first, infix, last)))


LANGUAGE_WARNINGS = 20  # lines named per import; the rest counted, not listed


def is_language_code(value: str) -> bool:
    """Whether Babel knows `value` (`nl`, `en-GB`, `pt_BR`) as a language, a locale."""
    from babel import Locale, UnknownLocaleError  # only imports that read a language pay

    try:
        Locale.parse(value.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return False
    return True


Row = tuple[Any, ...]
# One row's cells as the CSV reader gives them, and its line → the values to store: the
# key, the stored columns but `extra` (in spec.columns order), the line; None when the row
# is ignored (attendance without `present`). A cell it cannot read raises CellError.
Converter = Callable[[list[str], int], Row | None]

_V = TypeVar("_V")


class _Readings(dict[str, _V]):
    """The values of one column's texts, each text read once (by `read`, on its first
    lookup): exports repeat the same dates and words endlessly. Keyed by the text as
    written, spaces and all, so a lookup needs no stripping; bounded, so memory stays flat.

    A text that cannot be read raises CellError from the lookup and is not remembered.
    """

    __slots__ = ("read",)

    def __init__(self, read: Callable[[str], _V]) -> None:
        super().__init__()
        self.read = read

    def __missing__(self, text: str) -> _V:
        value = self.read(text)
        if len(self) >= MOMENT_CACHE:
            self.clear()
        self[text] = value
        return value


class KeyMissing(CellError):
    """A row without (part of) its key."""

    def __init__(self, column: str) -> None:
        super().__init__(column, _("a value is required (the key)"))


ID_LENGTH = 100  # an id names files and mail headers too: a bound keeps them valid
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def read_id(value: str, column: str) -> str:
    """A key cell: required, at most ID_LENGTH characters, no control characters."""
    if not value:
        raise KeyMissing(column)
    if len(value) > ID_LENGTH:
        said = _("an id has at most {most} characters, not {count}")
        raise CellError(column, said.format(most=ID_LENGTH, count=len(value)))
    if not value.isprintable() and _CONTROL.search(value):
        raise CellError(column, _("an id may not hold control characters (a line break, a tab)"))
    return value


class Coercer:
    """Turns rows of text into the stored values of their table, one converter per file.

    What it stores but doubts goes to `warnings` as `file:line: message`.
    """

    def __init__(
        self,
        tz: tzinfo,
        *,
        warnings: list[str],
        words: Mapping[str, Mapping[str, int]] | None = None,
        erased: frozenset[str] = frozenset(),
    ) -> None:
        self.tz = tz
        self.warnings = warnings
        # per yes/no column, the words of actions.yaml's `import: values`
        self.words = words or {}
        self.erased = erased  # persons forgotten: their rows are left out, and counted
        self.erased_rows = 0
        # exports repeat the same few languages; a value that is no code is remembered as None
        self._languages: dict[str, str | None] = {}
        self._languages_named = 0
        self.languages_not_named = 0  # lines with an unknown language beyond the ones named

    def converter(self, table: str, at: Sequence[int], file: str) -> Converter:
        """The converter of one file of `table`: `at` holds the index in a row of each of
        spec.known's columns (a column the file lacks: an index that holds "")."""
        make: Callable[[Sequence[int], str], Converter] = getattr(self, f"_{table}")
        return make(at, file)

    # -- the cells --------------------------------------------------------------------------

    def moments(self, column: str, *, end_of_day: bool = False) -> _Readings[str | None]:
        """Texts of `column` → the UTC text of the date or date and time, local ones read in
        the zone; None when empty. With `end_of_day`, a bare date is 00:00 the next day."""

        def read(text: str) -> str | None:
            value = text.strip()
            if value == "":
                return None
            try:
                return to_utc_text(parse_moment(value, self.tz, end_of_day=end_of_day))
            except DateFormatError as exc:
                problem = exc
            # a long date copied from Excel (`12 november 2026`): only texts that are not
            # numeric pay for trying, and each text once
            numeric = None
            try:
                numeric = numeric_date(value)
                if numeric is not None:
                    return to_utc_text(parse_moment(numeric, self.tz, end_of_day=end_of_day))
            except DateFormatError as exc:
                problem = exc
            said = str(problem)
            if numeric is not None:  # quote the cell as written, not as rewritten
                said = said.replace(repr(numeric), repr(value))
            raise CellError(column, said)

        return _Readings(read)

    def language(self, value: str, file: str, line: int) -> str | None:
        """A language code as written; None (with a warning) when it is none."""
        if value == "":
            return None
        try:
            known = self._languages[value]
        except KeyError:
            if len(self._languages) > MOMENT_CACHE:
                self._languages.clear()
            known = self._languages[value] = value if is_language_code(value) else None
        if known is None:
            if self._languages_named < LANGUAGE_WARNINGS:
                self._languages_named += 1
                said = _(
                    "column 'language': {value} is not a language code (such as nl, en or "
                    "en-GB); the person gets the default templates and date format"
                ).format(value=repr(value))
                self.warnings.append(f"{file}:{line}: {said}")
            else:
                self.languages_not_named += 1
        return known

    def yes_no(
        self, column: str, read: Callable[[str, str, Mapping[str, int] | None], _V]
    ) -> _Readings[_V]:
        """Texts of a yes/no `column` → 1, 0 (or None), its own words first."""
        words = self.words.get(column)
        return _Readings(lambda text: read(text.strip(), column, words))

    # -- one converter per table: the hot loop of an import, so each reads its cells by
    # -- position and looks repeated texts up, with no call it can spare per row

    def _attendance(self, at: Sequence[int], file: str) -> Converter:
        return self._marks(at, "present", graded=False)

    def _results(self, at: Sequence[int], file: str) -> Converter:
        return self._marks(at, "passed", graded=True)

    def _marks(self, at: Sequence[int], column: str, *, graded: bool) -> Converter:
        """A part's attendance (present) or result (passed, and a grade): the same steps."""
        part_at, person_at, mark_at, *rest = at
        grade_at, registered_at = rest[0], rest[-1]
        mark_of = self.yes_no(column, read_registered_bool)
        moment_of = self.moments("registered_at")

        def convert(values: list[str], line: int) -> Row | None:
            part_id = read_id(values[part_at].strip(), "part_id")
            person_id = read_id(values[person_at].strip(), "person_id")
            if person_id in self.erased:
                self.erased_rows += 1
                return None
            mark = mark_of[values[mark_at]]
            if mark is None:
                return None
            if graded:
                grade = values[grade_at].strip() or None
                return (part_id, person_id, mark, grade, moment_of[values[registered_at]], line)
            return (part_id, person_id, mark, moment_of[values[registered_at]], line)

        return convert

    def _enrollments(self, at: Sequence[int], file: str) -> Converter:
        course_at, person_at, status_at, enrolled_at = at
        status_of = _flags("status", read_enrollment_status)
        moment_of = self.moments("enrolled_at")

        def convert(values: list[str], line: int) -> Row | None:
            course_id = read_id(values[course_at].strip(), "course_id")
            person_id = read_id(values[person_at].strip(), "person_id")
            if person_id in self.erased:
                self.erased_rows += 1
                return None
            status = status_of[values[status_at]]
            return (course_id, person_id, status, moment_of[values[enrolled_at]], line)

        return convert

    def _persons(self, at: Sequence[int], file: str) -> Converter:
        person_at, email_at, first_at, infix_at, last_at, full_at, language_at = at
        language = self.language

        def convert(values: list[str], line: int) -> Row | None:
            person_id = read_id(values[person_at].strip(), "person_id")
            if person_id in self.erased:
                self.erased_rows += 1
                return None
            email = read_email(values[email_at].strip(), "email")
            first = values[first_at].strip()
            infix = values[infix_at].strip()
            last = values[last_at].strip()
            full = values[full_at].strip() or _full_name(first, infix, last)
            return (
                person_id,
                email,
                first or None,
                infix or None,
                last or None,
                full or None,
                language(values[language_at].strip(), file, line),
                line,
            )

        return convert

    def _parts(self, at: Sequence[int], file: str) -> Converter:
        part_at, course_at, name_at, start_at, end_at, attendance_at, pass_at = at
        start_of = self.moments("start")
        end_of = self.moments("end", end_of_day=True)
        attendance_of = self.yes_no("attendance_required", read_bool)
        pass_of = self.yes_no("pass_required", read_bool)

        def convert(values: list[str], line: int) -> Row:
            part_id = read_id(values[part_at].strip(), "part_id")
            return (
                part_id,
                values[course_at].strip(),
                values[name_at].strip(),
                start_of[values[start_at]],
                end_of[values[end_at]],
                attendance_of[values[attendance_at]],
                pass_of[values[pass_at]],
                line,
            )

        return convert

    def _courses(self, at: Sequence[int], file: str) -> Converter:
        course_at, name_at, status_at, end_at, type_at, start_at, location_at = at
        start_of = self.moments("start")
        end_of = self.moments("end", end_of_day=True)

        def convert(values: list[str], line: int) -> Row:
            course_id = read_id(values[course_at].strip(), "course_id")
            start, end = values[start_at].strip(), values[end_at].strip()
            if end == "":
                said = _("an end date is required (such as 2026-11-05 or 05-11-2026)")
                raise CellError("end", said)
            return (
                course_id,
                values[name_at].strip(),
                values[status_at].strip(),
                values[type_at].strip() or None,
                start_of[start],
                int(_is_date(start)),
                end_of[end],
                int(_is_date(end)),
                values[location_at].strip() or None,
                line,
            )

        return convert

    def _course_types(self, at: Sequence[int], file: str) -> Converter:
        type_at, percentage_at = at

        def convert(values: list[str], line: int) -> Row:
            course_type = values[type_at].strip()
            if not course_type:
                raise KeyMissing("course_type")
            percentage = read_percentage(values[percentage_at].strip(), "attendance_percentage")
            return (course_type, percentage, line)

        return convert


def _flags(column: str, read: Callable[[str, str], _V]) -> _Readings[_V]:
    """Texts of `column` → what `read` makes of them, stripped."""
    return _Readings(lambda text: read(text.strip(), column))


_DATE_ONLY = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})\s*$")


def _is_date(value: str) -> bool:
    """Whether a cell read as a moment holds a date without a time of day."""
    if _DATE_ONLY.match(value):
        return True
    try:  # `12 november 2026`; courses are few, so no cache is needed
        numeric = numeric_date(value)
    except DateFormatError:
        return False
    return numeric is not None and bool(_DATE_ONLY.match(numeric))
