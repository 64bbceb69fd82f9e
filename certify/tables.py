"""The tables an export may hold: their columns, keys and references, and the cell readers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from email_validator import EmailNotValidError, validate_email

from certify.clock import DateFormatError, parse_moment, to_utc_text

MOMENT_CACHE = 262_144  # distinct date/time texts remembered: a bound, so memory stays flat


class CellError(ValueError):
    """A cell that cannot be read: `column` names it, the message says why."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


_TRUE = frozenset({"yes", "y", "true", "1", "ja", "j", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "nee", "", "-"})
_BOOL_WORDS = "yes/no, y/n, true/false, 1/0, ja/nee, j/n, x/empty"


_BOOLS = {word: 1 for word in _TRUE} | {word: 0 for word in _FALSE}


def read_bool(value: str, column: str) -> int:
    """1 or 0 for a yes or no word in Dutch or English; empty is no."""
    result = _BOOLS.get(value.lower())
    if result is None:
        raise CellError(column, f"cannot read {value!r} as yes or no ({_BOOL_WORDS})")
    return result


def read_registered_bool(value: str, column: str) -> int | None:
    """present/passed: empty means "not registered" (None: the row is ignored)."""
    return None if value == "" else read_bool(value, column)


_PERCENT = re.compile(r"^(\d{1,3})(?:[.,]0+)?\s*%?$")


def read_percentage(value: str, column: str) -> int | None:
    """A whole percentage from 0 to 100, with or without `%`; None when empty."""
    if value == "":
        return None
    match = _PERCENT.match(value)
    if match is None or int(match.group(1)) > 100:
        raise CellError(
            column, f"{value!r} is not a percentage from 0 to 100 (a whole number such as 75)"
        )
    return int(match.group(1))


# The everyday address (ASCII dot-atoms, a host name with a letter TLD) is certainly valid;
# anything else goes to email_validator, which knows the rest of the standards.
_PLAIN_EMAIL = re.compile(
    r"^(?=.{1,254}$)(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def read_email(value: str, column: str) -> str:
    """The address as given, once it is known to be a valid one; it is required."""
    if value == "":
        raise CellError(column, "an e-mail address is required")
    if _PLAIN_EMAIL.match(value):
        return value
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise CellError(column, f"{value!r} is not an e-mail address ({exc})") from None
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


def read_enrollment_status(value: str, column: str) -> str:
    """`enrolled` or `cancelled`, from their Dutch and English names; empty is enrolled."""
    status = _ENROLLMENT_STATUS.get(value.lower())
    if status is None:
        raise CellError(column, f"unknown enrollment status {value!r} (enrolled or cancelled)")
    return status


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
        return "attendance rows" if self.name == "attendance" else self.name.replace("_", " ")

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
    return " ".join(part for part in (first, infix, last) if part)


LANGUAGE_WARNINGS = 20  # lines named per import; the rest counted, not listed


def is_language_code(value: str) -> bool:
    """Whether Babel knows `value` (`nl`, `en-GB`, `pt_BR`) as a language, a locale."""
    from babel import Locale, UnknownLocaleError  # only imports that read a language pay

    try:
        Locale.parse(value.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return False
    return True


class Coercer:
    """Turns one row's text into the stored values of its table.

    What it stores but doubts goes to `warnings` as `file:line: message`, the file named
    by the index in the row's tail (see `for_table`) from `files`.
    """

    def __init__(self, tz: tzinfo, *, files: Sequence[str], warnings: list[str]) -> None:
        self.tz = tz
        self.files = files
        self.warnings = warnings
        # exports repeat the same moments a great deal; bounded so memory stays flat
        self._moments: dict[str, str] = {}
        self._ends: dict[str, str] = {}
        # and the same few languages; a value that is no code is remembered as None
        self._languages: dict[str, str | None] = {}
        self._languages_named = 0
        self.languages_not_named = 0  # lines with an unknown language beyond the ones named

    def language(self, value: str, tail: tuple[Any, ...]) -> str | None:
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
                file_index, line = tail[-2], tail[-1]
                self.warnings.append(
                    f"{self.files[file_index]}:{line}: column 'language': {value!r} is not a "
                    "language code (such as nl, en or en-GB); the person gets the default "
                    "templates and date format"
                )
            else:
                self.languages_not_named += 1
        return known

    def moment(self, value: str, column: str, *, end_of_day: bool = False) -> str | None:
        """The UTC text of a date or date and time, local ones read in `tz`; None when empty."""
        if value == "":
            return None
        cache = self._ends if end_of_day else self._moments
        cached = cache.get(value)
        if cached is not None:
            return cached
        try:
            text = to_utc_text(parse_moment(value, self.tz, end_of_day=end_of_day))
        except DateFormatError as exc:
            raise CellError(column, str(exc)) from None
        if len(cache) > MOMENT_CACHE:
            cache.clear()
        cache[value] = text
        return text

    def for_table(
        self, table: str
    ) -> Callable[[tuple[str, ...], tuple[Any, ...]], tuple[Any, ...] | None]:
        """The coercion of one table: a row in spec.known order, and the tail (extra, file,
        line) to append → the values to store (None: the row is ignored)."""
        return getattr(self, f"_{table}")  # type: ignore[no-any-return]

    def _attendance(self, row: tuple[str, ...], tail: tuple[Any, ...]) -> tuple[Any, ...] | None:
        part_id, person_id, present_text, registered_at = row
        present = read_registered_bool(present_text, "present")
        if present is None:
            return None
        return (part_id, person_id, present, self.moment(registered_at, "registered_at"), *tail)

    def _results(self, row: tuple[str, ...], tail: tuple[Any, ...]) -> tuple[Any, ...] | None:
        part_id, person_id, passed_text, grade, registered_at = row
        passed = read_registered_bool(passed_text, "passed")
        if passed is None:
            return None
        registered = self.moment(registered_at, "registered_at")
        return (part_id, person_id, passed, grade or None, registered, *tail)

    def _enrollments(self, row: tuple[str, ...], tail: tuple[Any, ...]) -> tuple[Any, ...]:
        course_id, person_id, status, enrolled_at = row
        return (
            course_id,
            person_id,
            read_enrollment_status(status, "status"),
            self.moment(enrolled_at, "enrolled_at"),
            *tail,
        )

    def _persons(self, row: tuple[str, ...], tail: tuple[Any, ...]) -> tuple[Any, ...]:
        person_id, email, first, infix, last, full, language = row
        full = full or _full_name(first, infix, last)
        return (
            person_id,
            read_email(email, "email"),
            first or None,
            infix or None,
            last or None,
            full or None,
            self.language(language, tail),
            *tail,
        )

    def _parts(self, row: tuple[str, ...], tail: tuple[Any, ...]) -> tuple[Any, ...]:
        part_id, course_id, name, start, end, attendance_required, pass_required = row
        return (
            part_id,
            course_id,
            name,
            self.moment(start, "start"),
            self.moment(end, "end", end_of_day=True),
            read_bool(attendance_required, "attendance_required"),
            read_bool(pass_required, "pass_required"),
            *tail,
        )

    def _courses(self, row: tuple[str, ...], tail: tuple[Any, ...]) -> tuple[Any, ...]:
        course_id, name, status, end, course_type, start, location = row
        if end == "":
            raise CellError("end", "an end date is required (such as 2026-11-05 or 05-11-2026)")
        return (
            course_id,
            name,
            status,
            course_type or None,
            self.moment(start, "start"),
            int(_is_date(start)),
            self.moment(end, "end", end_of_day=True),
            int(_is_date(end)),
            location or None,
            *tail,
        )

    def _course_types(self, row: tuple[str, ...], tail: tuple[Any, ...]) -> tuple[Any, ...]:
        course_type, percentage = row
        return (course_type, read_percentage(percentage, "attendance_percentage"), *tail)


_DATE_ONLY = re.compile(r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})\s*$")


def _is_date(value: str) -> bool:
    return bool(_DATE_ONLY.match(value))
