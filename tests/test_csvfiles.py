from collections.abc import Callable
from pathlib import Path

import pytest

from certify.errors import CertifyError, ImportFailed
from tests.conftest import import_into, rows, write


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
    long_row = export("long", persons="person_id,email,language\nP1,bram@example.org,nl,NL\n")
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "a.db", long_row)
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
