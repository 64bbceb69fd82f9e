"""The `import:` section of actions.yaml: how this organisation's exports look (file names,
headers, an encoding, words for yes and no, or one flat file), so nobody reshapes an export
by hand."""

from __future__ import annotations

import codecs
from typing import Any, Literal

from pydantic import Field, field_validator

from certify.errors import did_you_mean
from certify.locale import _
from certify.yamlfile import Strict

# the columns a flat file (one row per participant per part) may map, and what they fill
FLAT_REQUIRED = ("course_id", "course_name", "course_status", "course_end", "part_name", "email")
FLAT_OPTIONAL = (
    "course_type",
    "course_start",
    "course_location",
    "part_id",
    "part_start",
    "part_end",
    "attendance_required",
    "pass_required",
    "person_id",
    "first_name",
    "infix",
    "last_name",
    "full_name",
    "language",
    "enrollment_status",
    "enrolled_at",
    "present",
    "passed",
    "grade",
    # the previous system's certificate of the participant (certificates.csv's columns)
    "certificate_number",
    "certificate_action",
    "certificate_issued_on",
    "certificate_valid_until",
)
FLAT_COLUMNS = FLAT_REQUIRED + FLAT_OPTIONAL
# a flat file's certificate columns and the certificates.csv column each one fills
FLAT_CERTIFICATE = {
    "certificate_number": "number",
    "certificate_action": "action",
    "certificate_issued_on": "issued_on",
    "certificate_valid_until": "valid_until",
}
# the yes/no columns, whose words `values` may add to
BOOL_COLUMNS = ("present", "passed", "attendance_required", "pass_required")


def table_columns(table: str) -> tuple[str, ...]:
    """The input columns of a table (required and optional), as the importer reads them;
    looked up only for an actions.yaml that maps a table's columns."""
    from certify.ingest.tables import TABLES

    spec = TABLES[table]
    return (*spec.required, *spec.optional)


TableName = Literal[
    "course_types", "courses", "parts", "persons", "enrollments", "attendance", "results"
]

_WORDS = {"yes": True, "ja": True, "no": False, "nee": False}


def _check_columns(columns: dict[str, str], known: tuple[str, ...], what: str) -> dict[str, str]:
    for column, header in columns.items():
        if column not in known:
            said = _("unknown column {column} of {table} (known: {known})").format(
                column=repr(column), table=what, known=", ".join(known)
            )
            raise ValueError(said + did_you_mean(column, known))
        if not str(header).strip():
            raise ValueError(_("column {column}: an empty header name").format(column=repr(column)))
    headers = [str(header).strip().casefold() for header in columns.values()]
    twice = sorted({header for header in headers if headers.count(header) > 1})
    if twice:
        raise ValueError(
            _("header {header} is mapped to two columns").format(header=repr(twice[0]))
        )
    return {column: str(header).strip() for column, header in columns.items()}


class TableImport(Strict):
    file: str | None = Field(
        None,
        description="a file name or glob in the imported folder (case does not matter); "
        "default TABLE.csv or TABLE.xlsx",
    )
    sheet: str | None = Field(None, description="the sheet of a workbook; default the first")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="column: header — which header of the file holds which column",
    )


class FlatImport(Strict):
    file: str = Field(description="a file name or glob in the imported folder: ONE export")
    sheet: str | None = Field(None, description="the sheet of a workbook; default the first")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="column: header. part_id: a column, or derived as COURSE_ID/PART_NAME; "
        "person_id: default the e-mail address, lower-cased",
    )

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_columns(value, FLAT_COLUMNS, _("a flat file"))


class ImportSettings(Strict):
    encoding: str | None = Field(
        None,
        description="the exports' encoding (cp1252, utf-8, latin-1): read without a warning; "
        "bytes that do not decode are an error",
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="globs of files in an imported folder that are not exports: no warning",
    )
    tables: dict[TableName, TableImport] = Field(default_factory=dict)
    flat: FlatImport | None = None
    values: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="per yes/no column, extra words and what they mean: {Voldoende: yes}",
    )

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return codecs.lookup(value.strip()).name
        except LookupError:
            raise ValueError(
                _("unknown encoding {value} (such as utf-8, cp1252 or latin-1)").format(
                    value=repr(value)
                )
            ) from None

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: dict[str, TableImport]) -> dict[str, TableImport]:
        for name, table in value.items():
            _check_columns(table.columns, table_columns(name), name)
        return value

    @field_validator("values")
    @classmethod
    def _values(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for column, words in value.items():
            if column not in BOOL_COLUMNS:
                said = _("values for {column}: only yes/no columns take words ({columns})").format(
                    column=repr(column), columns=", ".join(BOOL_COLUMNS)
                )
                raise ValueError(said + did_you_mean(column, BOOL_COLUMNS))
            for word, meaning in words.items():
                if not isinstance(meaning, bool) and str(meaning).strip().lower() not in _WORDS:
                    said = _("{value} is neither yes nor no").format(value=repr(meaning))
                    raise ValueError(f"values.{column}.{word}: {said}")
        return value

    def words(self) -> dict[str, dict[str, int]]:
        """Per column, each extra word (lower-cased, trimmed) as 1 or 0."""
        return {
            column: {
                str(word).strip().lower(): int(
                    meaning if isinstance(meaning, bool) else _WORDS[str(meaning).strip().lower()]
                )
                for word, meaning in words.items()
            }
            for column, words in self.values.items()
        }
