from collections.abc import Callable
from pathlib import Path

import pytest

import certify.ingest.encodings
from certify.errors import CertifyError, ImportFailed
from certify.ingest.encodings import detect_encoding
from tests.helpers import file_digest, import_into, rows, write


def test_semicolons_tabs_bom_and_windows_1252(tmp_path: Path, export: Callable[..., Path]) -> None:
    directory = export()
    write(
        directory,
        "persons.csv",
        "\ufeffperson_id;first_name;last_name;email\nP1;Bram;Berg;bram@example.org\nP2;Zoë;Öztürk;zoe@example.org\n",
    )
    write(directory, "course_types.csv", "course_type\tattendance_percentage\nFOUR\t75%\n")
    report = import_into(tmp_path / "a.db", directory)
    assert report.counts["persons"].inserted == 2
    write(
        directory,
        "persons.csv",
        "person_id;first_name;last_name;email\nP1;Bram;Berg;bram@example.org\nP2;Zoë;Öztürk;zoe@example.org\n",
        encoding="cp1252",
    )
    report = import_into(tmp_path / "b.db", directory)
    assert any("Windows-1252" in w for w in report.warnings)
    assert rows(tmp_path / "b.db", "SELECT last_name FROM persons WHERE person_id='P2'") == [
        ("Öztürk",)
    ]


def test_quoted_field_spanning_lines_is_read_and_line_numbers_stay_right(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    directory = export(
        courses='course_id,name,status,end\nC1,"Display\ntraining",final,2026-11-05\nC2,Other,final,31-02-2026\n'
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(db, directory)
    # the bad row starts on physical line 4, after the two-line record
    assert any("courses.csv:4: column 'end'" in p for p in failure.value.problems)
    fixed = export(courses='course_id,name,status,end\nC1,"Display\ntraining",final,2026-11-05\n')
    report = import_into(db, fixed)
    assert rows(db, "SELECT name FROM courses") == [("Display training",)]
    assert any("courses.csv:2: column 'name': line break" in w for w in report.warnings)


def test_header_only_and_empty_files_are_warnings(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    directory = export(results="part_id,person_id,passed\n")
    write(directory, "course_types.csv", "")
    report = import_into(tmp_path / "c.db", directory)
    assert any("results.csv: header only" in w for w in report.warnings)
    assert any("course_types.csv: empty file" in w for w in report.warnings)


def test_unknown_file_name_needs_table(tmp_path: Path, export: Callable[..., Path]) -> None:
    directory = export()
    odd = write(directory, "deelnemers.csv", "course_id,person_id\nC1,P1\n")
    import_into(tmp_path / "c.db", directory)
    with pytest.raises(CertifyError, match="not a known table name"):
        import_into(tmp_path / "c.db", odd)
    report = import_into(tmp_path / "c.db", odd, table="enrollments")
    assert report.counts["enrollments"].unchanged == 1


def test_a_row_longer_than_its_header_is_an_error_unless_the_rest_is_empty(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    long_row = export(
        "long", persons="person_id,email,language\nP1,bram@example.org,nl,NL\nP2,zoe@example.org\n"
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "a.db", long_row)
    # the only problem: the rows that refer to P1 raise no echo of it
    assert failure.value.problems == [
        f"{long_row / 'persons.csv'}:2: 4 fields but the header has 3 "
        "(an unquoted delimiter in a value?)"
    ]
    padded = export(
        "padded", persons="person_id,email,language\nP1,bram@example.org,nl,,\nP2,zoe@example.org\n"
    )
    import_into(tmp_path / "b.db", padded)
    assert rows(tmp_path / "b.db", "SELECT person_id, language FROM persons ORDER BY 1") == [
        ("P1", "nl"),
        ("P2", None),
    ]


# encodings: UTF-8, Windows-1252, UTF-16 with a BOM; anything else an error with its place

PERSONS_1252 = "person_id;first_name;last_name;email\nP1;Bram;Berg;bram@example.org\n"
SAVE_AS = 'save the export as UTF-8 (Excel: "CSV UTF-8")'


def test_a_byte_undefined_in_windows_1252_is_an_error_with_its_line_and_changes_nothing(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    before = file_digest(db)
    bad = export("bad", courses="course_id,name,status,end\nC1,X,final,31-02-2026\n")
    persons = bad / "persons.csv"
    # an Excel export in Windows-1252 (é) with a byte that no code page defines on line 3
    persons.write_bytes(
        PERSONS_1252.encode("cp1252") + "P2;Zoë;Öz".encode("cp1252") + b"\x81rk;zoe@example.org\n"
    )
    with pytest.raises(ImportFailed) as failure:
        import_into(db, bad, now="2026-11-02 08:00")
    assert f"{persons}:3: byte 0x81 is neither UTF-8 nor Windows-1252; {SAVE_AS}" in (
        failure.value.problems
    )
    # collected with the other mistakes of the call, all at once
    assert any("courses.csv:2: column 'end'" in p for p in failure.value.problems)
    assert failure.value.total == 2
    assert file_digest(db) == before


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_each_undefined_byte_is_named_and_further_ones_counted(
    tmp_path: Path, export: Callable[..., Path], byte: int
) -> None:
    folder = export("bad")
    names = "person_id,email,last_name\nP1,bram@example.org,B\xe9rg\n"
    body = f"P2,zoe@example.org,X{chr(byte)}Y{chr(byte)}\n".encode("latin-1")
    (folder / "persons.csv").write_bytes(names.encode("latin-1") + body)
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", folder)
    assert failure.value.problems == [
        f"{folder / 'persons.csv'}:3: byte 0x{byte:02x} is neither UTF-8 nor Windows-1252 "
        f"(and 1 more in this file); {SAVE_AS}"
    ]


EXCEL_UNICODE_TEXT = (
    "person_id\tfirst_name\tinfix\tlast_name\temail\tlanguage\r\n"
    "P1\tBram\tvan der\tBerg\tbram@example.org\tnl\r\n"
    "P2\tZoë\t\tÖztürk\tzoe@example.org\ten-GB\r\n"
    "P3\t李\t\t小龍\tli@example.org\t\r\n"
)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_bom_is_read_tab_separated_like_excels_unicode_text(
    tmp_path: Path, export: Callable[..., Path], codec: str
) -> None:
    folder = export()
    (folder / "persons.csv").write_bytes(("\ufeff" + EXCEL_UNICODE_TEXT).encode(codec))
    db = tmp_path / "c.db"
    report = import_into(db, folder)
    assert report.counts["persons"].inserted == 3
    assert not [w for w in report.warnings if "persons.csv" in w]
    assert rows(db, "SELECT person_id, full_name, email, language FROM persons ORDER BY 1") == [
        ("P1", "Bram van der Berg", "bram@example.org", "nl"),
        ("P2", "Zoë Öztürk", "zoe@example.org", "en-GB"),
        ("P3", "李 小龍", "li@example.org", None),
    ]


def test_utf16_that_breaks_off_is_an_error_with_its_line(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    folder = export()
    good = ("\ufeff" + EXCEL_UNICODE_TEXT).encode("utf-16-le")
    # a lone high surrogate on line 5, then more text
    lone = "P4\tX".encode("utf-16-le") + b"\x00\xd8" + "\tx@example.org\t\r\n".encode("utf-16-le")
    (folder / "persons.csv").write_bytes(good + lone)
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", folder)
    assert [p for p in failure.value.problems if "not valid UTF-16" in p] == [
        f"{folder / 'persons.csv'}:5: not valid UTF-16 (illegal UTF-16 surrogate); {SAVE_AS}"
    ]


def test_utf16_without_a_bom_is_an_error_not_garbage_headers(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    folder = export()
    (folder / "persons.csv").write_bytes(EXCEL_UNICODE_TEXT.encode("utf-16-le"))
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", folder)
    assert failure.value.problems == [
        f"{folder / 'persons.csv'}:1: the header holds NUL bytes (UTF-16 without a byte "
        f"order mark?); {SAVE_AS}"
    ]


def test_an_excel_workbook_saved_under_a_csv_name_is_named_for_what_it_is(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    folder = export()
    (folder / "courses.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", folder)
    assert failure.value.problems[0] == (
        f"{folder / 'courses.csv'}:1: an Excel workbook, not a CSV file; rename it to "
        "courses.xlsx (workbooks are read)"
    )


# files in a folder that are no table


def test_other_files_in_a_folder_are_named_in_a_warning(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    folder = export()
    write(folder, "deelnemers.csv", "course_id,person_id\nC1,P1\n")
    write(folder, "notes.txt", "exported by the nightly job\n")
    write(folder, ".DS_Store", "\x00")
    write(folder, ".~lock.persons.csv#", "someone,host\n")
    write(folder, "~$persons.csv", "lock\n")
    (folder / "archive").mkdir()
    report = import_into(tmp_path / "c.db", folder)
    others = [w for w in report.warnings if "not a known table name" in w]
    known = (
        "course_types.csv, courses.csv, parts.csv, persons.csv, enrollments.csv, "
        "attendance.csv, results.csv"
    )
    ignore = "`import: ignore` in actions.yaml passes over files that are not exports"
    assert others == [
        f"{folder / 'deelnemers.csv'}: not a known table name, not imported (known: {known}; "
        f"{ignore})",
        f"{folder / 'notes.txt'}: not a known table name, not imported (known: {known}; {ignore})",
    ]
    assert report.counts["persons"].inserted == 2


def test_a_folder_without_known_files_says_what_it_found(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    write(folder, "Deelnemers.csv", "course_id,person_id\n")
    write(folder, ".DS_Store", "x")
    with pytest.raises(CertifyError, match=r"\(found Deelnemers\.csv; expected names such as "):
        import_into(tmp_path / "c.db", folder)


def test_blank_rows_are_passed_over_and_lines_still_counted(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    # an empty line, a row of delimiters only, then cells padded with spaces
    persons = "person_id,email,first_name\n\n,,\n P1 , bram@example.org ,Bram\n"
    folder = export("blank", persons=persons + "  ,  ,  \n,nope,\n")
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "a.db", folder / "persons.csv")
    file = folder / "persons.csv"
    # spaces are no blank row, and a row with a value but no key is no blank row either
    assert failure.value.problems == [
        f"{file}:5: column 'person_id': a value is required (the key)",
        f"{file}:6: column 'person_id': a value is required (the key)",
    ]
    folder = export("fixed", persons=persons + "P2,zoe@example.org,\n")
    db = tmp_path / "b.db"
    report = import_into(db, folder / "persons.csv")
    assert report.counts["persons"].inserted == 2
    assert rows(db, "SELECT person_id, email, first_name, seen_line FROM persons ORDER BY 1") == [
        ("P1", "bram@example.org", "Bram", 4),
        ("P2", "zoe@example.org", None, 5),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize(
    "name", ["Day 2", '"Day 2"', '"Day\n2"'], ids=["plain", "quoted", "over lines"]
)
def test_line_numbers_whatever_the_line_ends_and_quotes(
    tmp_path: Path, export: Callable[..., Path], newline: str, name: str
) -> None:
    lines = ["part_id,course_id,name", "C1-1,C1,Day 1", f"C1-2,C1,{name}", "C1-3,C1,Day 3"]
    bad = export("bad", parts=newline.join([*lines, "C1-4,,Exam", ""]))
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", bad)
    last = 6 if "\n" in name else 5  # a value over two lines makes its row two lines long
    assert failure.value.problems == [
        f"{bad / 'parts.csv'}:{last}: column 'course_id': course '' exists neither in the "
        "database nor in this import (import courses.csv too?)"
    ]


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"abZ\xc3\xabxyz\n", ("utf-8-sig", False)),  # ë across two chunks
        (b"abZ\xc3xyzw\xab\n", ("cp1252", True)),  # a character begun, ASCII, its end
        (b'ab,"c,d"\n', ("utf-8-sig", True)),
        (b"ab,cd\nef,gh\n", ("utf-8-sig", False)),
    ],
    ids=["split character", "unfinished character", "quoted", "plain"],
)
def test_the_encoding_and_quotes_are_found_across_the_chunks_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, found: tuple[str, bool]
) -> None:
    monkeypatch.setattr(certify.ingest.encodings, "_CHUNK", 4)
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    assert detect_encoding(path) == found
