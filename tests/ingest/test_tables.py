from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

import pytest

import certify.ingest.tables
from certify.errors import ImportFailed
from certify.ingest.tables import (
    TABLES,
    CellError,
    Coercer,
    Converter,
    KeyMissing,
    is_language_code,
    read_bool,
    read_email,
    read_enrollment_status,
    read_percentage,
)
from tests.helpers import AMS, import_into, rows

YES_WORDS = ["ja", "J", "x", "TRUE", "1"]
NO_WORDS = ["nee", "n", "False", "0"]


@pytest.mark.parametrize(
    ("word", "value"), [(word, 1) for word in YES_WORDS] + [(word, 0) for word in NO_WORDS]
)
def test_dutch_and_english_booleans(
    tmp_path: Path, export: Callable[..., Path], word: str, value: int
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export(attendance=f"part_id,person_id,present\nC1-1,P1,{word}\n"))
    assert rows(db, "SELECT present FROM attendance") == [(value,)]


def test_empty_present_means_not_registered(tmp_path: Path, export: Callable[..., Path]) -> None:
    db = tmp_path / "c.db"
    report = import_into(db, export(attendance="part_id,person_id,present\nC1-1,P1,\nC1-2,P1,ja\n"))
    assert report.counts["attendance"].rows == 1


@pytest.mark.parametrize(
    ("text", "percentage"),
    [("75", 75), ("75%", 75), ("75,0 %", 75), ("100", 100), ("0", 0), ("", None)],
)
def test_percentages(text: str, percentage: int | None) -> None:
    assert read_percentage(text, "attendance_percentage") == percentage


@pytest.mark.parametrize("text", ["101", "75.5", "-1", "most"])
def test_a_percentage_outside_0_to_100_is_an_error_of_its_column(text: str) -> None:
    with pytest.raises(CellError, match="is not a percentage from 0 to 100") as error:
        read_percentage(text, "attendance_percentage")
    assert error.value.column == "attendance_percentage"


@pytest.mark.parametrize(
    "address", ["jan.de.vries@example.nl", "zoë@example.org", "a+b@sub.example.com"]
)
def test_email_addresses_are_kept_as_given(address: str) -> None:
    assert read_email(address, "email") == address


@pytest.mark.parametrize("text", ["bram-at-example.nl", "bram@", "two@at@example.org"])
def test_what_is_no_email_address_is_an_error_of_its_column(text: str) -> None:
    with pytest.raises(CellError, match="is not an e-mail address") as error:
        read_email(text, "email")
    assert error.value.column == "email"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("", "enrolled"),
        ("Ingeschreven", "enrolled"),
        ("canceled", "cancelled"),
        ("Afgemeld", "cancelled"),
    ],
)
def test_enrollment_statuses_in_dutch_and_english(text: str, status: str) -> None:
    assert read_enrollment_status(text, "status") == status


def test_a_boolean_error_names_the_column_it_was_read_for() -> None:
    with pytest.raises(CellError) as error:
        read_bool("misschien", "pass_required")
    assert error.value.column == "pass_required"
    assert str(error.value).startswith("cannot read 'misschien' as yes or no")


# one good row per table, in the order of its known columns
GOOD_ROWS = {
    "course_types": ("FOUR", "75"),
    "courses": ("C1", "VCA", "final", "05-11-2026", "FOUR", "2026-11-01 09:00", "Utrecht"),
    "parts": ("C1-1", "C1", "Day 1", "2026-11-01 09:00", "2026-11-01", "ja", "nee"),
    "persons": ("P1", "jan@example.org", "Jan", "van der", "Berg", "", "nl"),
    "enrollments": ("C1", "P1", "enrolled", "2026-10-01"),
    "attendance": ("C1-1", "P1", "ja", ""),
    "results": ("C1-1", "P1", "ja", "8", ""),
}


def _converter(table: str, warnings: list[str] | None = None) -> Converter:
    """The converter of a file whose columns are the table's known ones, in order."""
    at = range(len(TABLES[table].known))
    return Coercer(AMS, warnings=[] if warnings is None else warnings).converter(table, at, "x.csv")


@pytest.mark.parametrize("table", list(TABLES))
def test_each_table_converts_a_row_to_its_key_stored_columns_and_line(table: str) -> None:
    spec = TABLES[table]
    assert len(GOOD_ROWS[table]) == len(spec.known)
    values = _converter(table)(list(GOOD_ROWS[table]), 2)
    assert values is not None
    # the upsert numbers its parameters: key, stored columns but extra, line
    assert len(values) == len(spec.key) + len(spec.columns) - 1 + 1
    assert values[: len(spec.key)] == GOOD_ROWS[table][: len(spec.key)]
    assert values[-1] == 2


@pytest.mark.parametrize("table", list(TABLES))
def test_cells_are_read_in_the_columns_given_and_trimmed(table: str) -> None:
    # the file's columns reversed, each value padded with spaces: the same stored values
    spec = TABLES[table]
    width = len(spec.known)
    shuffled = [f"  {value}\t" for value in reversed(GOOD_ROWS[table])]
    at = [width - 1 - i for i in range(width)]
    converter = Coercer(AMS, warnings=[]).converter(table, at, "x.csv")
    assert converter(shuffled, 7) == _converter(table)(list(GOOD_ROWS[table]), 7)


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("courses", "start", "32-01-2026"),
        ("courses", "end", ""),
        ("parts", "end", "2026-13-01"),
        ("parts", "pass_required", "?"),
        ("enrollments", "enrolled_at", "gisteren"),
        ("attendance", "registered_at", "31-02-2026"),
        ("results", "passed", "?"),
    ],
)
def test_a_bad_cell_raises_an_error_that_names_its_column(
    table: str, column: str, bad: str
) -> None:
    spec = TABLES[table]
    row = list(GOOD_ROWS[table])
    row[spec.known.index(column)] = bad
    with pytest.raises(CellError) as error:
        _converter(table)(row, 2)
    assert error.value.column == column


@pytest.mark.parametrize("code", ["nl", "NL", "en", "en-GB", "en_GB", "pt-BR", "zh-Hant-TW"])
def test_language_codes_that_babel_knows(code: str) -> None:
    assert is_language_code(code)


@pytest.mark.parametrize("word", ["Nederlands", "xx", "e", "nl NL", "123", "nl-XX", "English"])
def test_words_and_unknown_codes_are_no_language_code(word: str) -> None:
    assert not is_language_code(word)


def test_a_language_is_checked_once_per_distinct_value(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    def counting(value: str) -> bool:
        checked.append(value)
        return is_language_code(value)

    monkeypatch.setattr(certify.ingest.tables, "is_language_code", counting)
    warnings: list[str] = []
    persons = _converter("persons", warnings)
    stored = []
    for line, language in enumerate(["nl", "Nederlands", "nl", "en-GB", "Nederlands", "nl"], 2):
        row = [f"P{line}", f"p{line}@example.org", "", "", "", "", language]
        values = persons(row, line)
        assert values is not None
        stored.append(values[TABLES["persons"].columns.index("language") + 1])
    assert stored == ["nl", None, "nl", "en-GB", None, "nl"]
    assert checked == ["nl", "Nederlands", "en-GB"]
    assert [w.split(": ")[0] for w in warnings] == ["x.csv:3", "x.csv:6"]


def test_a_text_that_cannot_be_read_is_an_error_on_every_row_it_is_in() -> None:
    attendance = _converter("attendance")
    for line in (2, 3):
        with pytest.raises(CellError, match="cannot read '31-02-2026' as a date"):
            attendance(["C1-1", f"P{line}", "ja", "31-02-2026"], line)


def test_texts_read_once_are_remembered_up_to_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    parse_moment = certify.ingest.tables.parse_moment

    def counting(text: str, tz: tzinfo, *, end_of_day: bool = False) -> datetime:
        read.append(text)
        return parse_moment(text, tz, end_of_day=end_of_day)

    monkeypatch.setattr(certify.ingest.tables, "MOMENT_CACHE", 2)
    attendance = _converter("attendance")
    monkeypatch.setattr(certify.ingest.tables, "parse_moment", counting)
    days = ["2026-11-01", "2026-11-01", " 2026-11-01 ", "2026-11-02", "2026-11-01"]
    stored = [attendance(["C1-1", "P1", "ja", day], 2) for day in days]
    assert [row[3] for row in stored if row] == [
        "2026-10-31T23:00:00Z",
        "2026-10-31T23:00:00Z",
        "2026-10-31T23:00:00Z",
        "2026-11-01T23:00:00Z",
        "2026-10-31T23:00:00Z",
    ]
    # the same text is read once; a text written with spaces is another text; the third
    # distinct one found the memory full and emptied it, so the first is read again
    assert read == ["2026-11-01", "2026-11-01", "2026-11-02", "2026-11-01"]


@pytest.mark.parametrize(
    ("table", "column"), [(table, column) for table in TABLES for column in TABLES[table].key]
)
def test_a_row_without_its_key_is_an_error_of_the_key_column(table: str, column: str) -> None:
    row = list(GOOD_ROWS[table])
    row[TABLES[table].known.index(column)] = "  "
    with pytest.raises(KeyMissing) as error:
        _converter(table)(row, 2)
    assert error.value.column == column
    assert str(error.value) == "a value is required (the key)"


@pytest.mark.parametrize("table", ["attendance", "results"])
def test_a_row_without_a_registration_is_ignored(table: str) -> None:
    row = list(GOOD_ROWS[table])
    row[2] = " "  # present, passed
    assert _converter(table)(row, 2) is None


def test_a_row_ignored_in_a_file_with_extra_columns_is_not_stored(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    attendance = "part_id,person_id,present,Trainer\nC1-1,P1,ja,Anna\nC1-2,P1,,Piet\n"
    report = import_into(db, export(attendance=attendance))
    assert report.counts["attendance"].rows == 1
    assert rows(db, "SELECT part_id, extra FROM attendance") == [("C1-1", '{"trainer": "Anna"}')]


def test_long_dates_copied_from_excel_are_read_in_dutch_and_english(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    courses = """
        course_id,name,status,start,end
        C1,Display training,final,donderdag 1 oktober 2026,12 november 2026
        C2,Workshop,final,1 Oct 2026,Thursday  November 12  2026 17:00
    """
    import_into(db, export(courses=courses))
    assert rows(db, 'SELECT course_id, start, "end", end_is_date FROM courses ORDER BY 1') == [
        ("C1", "2026-09-30T22:00:00Z", "2026-11-12T23:00:00Z", 1),  # a date: the end of the day
        ("C2", "2026-09-30T22:00:00Z", "2026-11-12T16:00:00Z", 0),
    ]


def test_a_named_date_is_read_once_per_text(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    numeric_date = certify.ingest.tables.numeric_date

    def counting(text: str) -> str | None:
        read.append(text)
        return numeric_date(text)

    attendance = _converter("attendance")
    monkeypatch.setattr(certify.ingest.tables, "numeric_date", counting)
    stored = [attendance(["C1-1", "P1", "ja", "12 nov 2026 17:00"], line) for line in (2, 3)]
    assert [row[3] for row in stored if row] == ["2026-11-12T16:00:00Z"] * 2
    assert read == ["12 nov 2026 17:00"]


def test_a_month_first_date_in_an_export_says_what_it_would_be(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    courses = "course_id,name,status,end\nC1,X,final,11/25/2026\n"
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", export(courses=courses))
    assert [p for p in failure.value.problems if "courses.csv:2: column 'end'" in p] == [
        f"{tmp_path / 'export' / 'courses.csv'}:2: column 'end': cannot read '11/25/2026' as a "
        "date (dates are read day first, and there is no month 25; if the month comes first, "
        "it is 25-11-2026, and the other month-first dates of the file are read wrongly too: "
        "export dates day first)"
    ]


def test_a_long_date_that_cannot_be_read_is_quoted_as_the_cell_says(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    courses = "course_id,name,status,end\nC1,X,final,12 nov 2026 25:00\n"
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", export(courses=courses))
    [problem] = [p for p in failure.value.problems if "courses.csv:2: column 'end'" in p]
    assert "cannot read '12 nov 2026 25:00' as a date" in problem
    assert "12-11-2026" not in problem


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("Voldoende", 1),
        ("geslaagd", 1),
        ("BEHAALD", 1),
        ("Onvoldoende", 0),
        ("gezakt", 0),
        ("Niet  behaald", 0),
        ("Aanwezig", 1),
        ("afwezig", 0),
    ],
)
def test_dutch_result_words_are_yes_or_no(word: str, value: int) -> None:
    assert read_bool(word, "passed") == value


def test_a_columns_own_words_come_first_and_are_offered_when_a_cell_is_unknown() -> None:
    words = {"prima": 1, "matig": 0}
    assert read_bool(" Prima ".strip(), "passed", words) == 1
    with pytest.raises(CellError, match="or prima/matig"):
        read_bool("misschien", "passed", words)
