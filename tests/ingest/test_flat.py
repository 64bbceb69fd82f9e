"""Exports as they come (SPEC 9.2): mapped headers, one flat file, Excel workbooks."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from certify.errors import ImportFailed
from certify.ingest.settings import ImportSettings
from tests.helpers import import_into, rows, run_cli, write

HEADERS = [
    "Opleidingscode",
    "Naam opleiding",
    "Opleidingstype",
    "Status opleiding",
    "Einddatum",
    "Onderdeel",
    "Examen",
    "Relatienummer",
    "Voornaam",
    "Achternaam",
    "E-mailadres",
    "Aanwezig",
    "Resultaat",
]
COLUMNS = {
    "course_id": "Opleidingscode",
    "course_name": "Naam opleiding",
    "course_type": "Opleidingstype",
    "course_status": "Status opleiding",
    "course_end": "Einddatum",
    "part_name": "Onderdeel",
    "pass_required": "Examen",
    "person_id": "Relatienummer",
    "first_name": "Voornaam",
    "last_name": "Achternaam",
    "email": "E-mailadres",
    "present": "Aanwezig",
    "passed": "Resultaat",
}
# one course of two parts, two participants; the exam is the second part
ROWS = [
    ["BHV-1", "BHV basis", "BHV", "Definitief", "12-11-2026", "Dag 1", "Nee", "R1", "Zoë",
     "Öztürk", "zoe@example.nl", "Ja", ""],
    ["BHV-1", "BHV basis", "BHV", "Definitief", "12-11-2026", "Dag 1", "Nee", "R2", "Bram",
     "Berg", "bram@example.nl", "Aanwezig", ""],
    ["BHV-1", "BHV basis", "BHV", "Definitief", "12-11-2026", "Examen", "Ja", "R1", "Zoë",
     "Öztürk", "zoe@example.nl", "Ja", "Voldoende"],
    ["BHV-1", "BHV basis", "BHV", "Definitief", "12-11-2026", "Examen", "Ja", "R2", "Bram",
     "Berg", "bram@example.nl", "Afwezig", "Gezakt"],
]  # fmt: skip


def flat_csv(folder: Path, data: list[list[str]] = ROWS, name: str = "Deelnemers.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [";".join(HEADERS), *(";".join(row) for row in data)]
    path = folder / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def settings(**flat: object) -> ImportSettings:
    return ImportSettings.model_validate(
        {
            "encoding": "cp1252",
            "flat": {"file": "deelnemers*", "columns": COLUMNS, **flat},
            "values": {"passed": {"Gezakt": "no"}},
        }
    )


def test_a_flat_file_fills_every_table_and_reads_the_dutch_words(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    report = import_into(db, flat_csv(tmp_path / "export"), settings=settings())
    # a declared cp1252 reads without a warning
    assert report.warnings == []
    assert {name: counts.inserted for name, counts in report.counts.items()} == {
        "courses": 1,
        "parts": 2,
        "persons": 2,
        "enrollments": 2,
        "attendance": 4,
        "results": 2,
    }
    assert rows(db, "SELECT part_id, name, pass_required FROM parts ORDER BY name") == [
        ("BHV-1/Dag 1", "Dag 1", 0),
        ("BHV-1/Examen", "Examen", 1),
    ]
    assert rows(db, "SELECT person_id, present FROM attendance ORDER BY part_id, person_id") == [
        ("R1", 1),
        ("R2", 1),
        ("R1", 1),
        ("R2", 0),
    ]
    assert rows(db, "SELECT person_id, passed FROM results ORDER BY person_id") == [
        ("R1", 1),
        ("R2", 0),
    ]
    assert rows(db, "SELECT full_name FROM persons WHERE person_id = 'R1'") == [("Zoë Öztürk",)]
    # the type no course_types.csv names is made, with the default 100 %
    assert rows(db, "SELECT course_type, attendance_percentage FROM course_types") == [("BHV", 100)]
    # the same file again changes nothing
    again = import_into(db, tmp_path / "export", settings=settings())
    assert all(counts.unchanged == counts.rows for counts in again.counts.values())


def test_person_id_defaults_to_the_address_lower_cased(tmp_path: Path) -> None:
    columns = {k: v for k, v in COLUMNS.items() if k != "person_id"}
    data = [[*row[:10], row[10].upper(), *row[11:]] for row in ROWS]
    db = tmp_path / "c.db"
    import_into(db, flat_csv(tmp_path / "export", data), settings=settings(columns=columns))
    assert rows(db, "SELECT person_id FROM persons ORDER BY 1") == [
        ("bram@example.nl",),
        ("zoe@example.nl",),
    ]


def test_a_mapped_header_the_file_lacks_names_the_headers_it_has(tmp_path: Path) -> None:
    path = flat_csv(tmp_path / "export")
    wrong = settings(columns={**COLUMNS, "course_end": "Eind datum"})
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", path, settings=wrong)
    assert failure.value.problems == [
        f"{path}:1: column 'course_end' is mapped to header 'Eind datum', which the file lacks "
        f"(its headers: {', '.join(HEADERS)}); did you mean 'Einddatum'?"
    ]


def test_two_rows_that_disagree_are_named_both(tmp_path: Path) -> None:
    data = [list(row) for row in ROWS]
    data[3][4] = "13-11-2026"  # the course ends on another day in its last row
    path = flat_csv(tmp_path / "export", data)
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", path, settings=settings())
    assert failure.value.problems == [
        f"{path}:5: column 'Einddatum' (course_end): course 'BHV-1' has '13-11-2026' here but "
        f"'12-11-2026' at {path}:2; rows that repeat it must agree"
    ]


def test_each_later_row_that_disagrees_is_named(tmp_path: Path) -> None:
    data = [list(row) for row in ROWS]
    data[2][4] = data[3][4] = "13-11-2026"  # two rows in a row say another end
    path = flat_csv(tmp_path / "export", data)
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", path, settings=settings())
    assert [problem.split(": column")[0] for problem in failure.value.problems] == [
        f"{path}:4",
        f"{path}:5",
    ]


def test_the_rows_of_an_erased_person_are_left_out_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    import_into(db, flat_csv(tmp_path / "export"), settings=settings())
    with sqlite3.connect(db) as conn:
        for table in ("persons", "enrollments", "attendance", "results"):
            conn.execute(f"DELETE FROM {table} WHERE person_id = 'R2'")
        conn.execute(
            "INSERT INTO erasures (person_id, at, reason, counts) "
            "VALUES ('R2', '2026-12-01T00:00:00Z', 'asked', '{}')"
        )
    report = import_into(db, tmp_path / "export", settings=settings())
    assert "2 rows of persons whose data was erased (certify forget) left out" in report.warnings
    assert rows(db, "SELECT person_id FROM persons") == [("R1",)]
    assert rows(db, "SELECT DISTINCT person_id FROM attendance") == [("R1",)]
    # the course and its parts still come from the erased person's rows
    assert rows(db, "SELECT count(*) FROM parts") == [(2,)]


def test_a_bad_cell_is_named_by_its_header(tmp_path: Path) -> None:
    data = [list(row) for row in ROWS]
    data[2][12] = "misschien"
    path = flat_csv(tmp_path / "export", data)
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", path, settings=settings())
    assert failure.value.problems[0].startswith(
        f"{path}:4: column 'Resultaat' (passed): cannot read 'misschien' as yes or no"
    )
    assert "or gezakt" in failure.value.problems[0]  # the column's own words are offered


def test_undecodable_bytes_under_a_declared_encoding_are_a_located_error(
    tmp_path: Path,
) -> None:
    path = flat_csv(tmp_path / "export")
    path.write_bytes(path.read_bytes().replace("Öztürk".encode("cp1252"), b"\x81zt\x9drk", 1))
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", path, settings=settings())
    assert failure.value.problems[0].startswith(f"{path}:2: bytes that are not cp1252")


def test_a_failed_import_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    import_into(db, flat_csv(tmp_path / "export"), settings=settings())
    before = rows(db, "SELECT * FROM attendance ORDER BY part_id, person_id")
    data = [list(row) for row in ROWS]
    data[1][11] = "Afwezig"  # a change that would land ...
    data[3][10] = "not-an-address"  # ... but for a bad address in another row
    flat_csv(tmp_path / "export", data)
    with pytest.raises(ImportFailed):
        import_into(db, tmp_path / "export", settings=settings())
    assert rows(db, "SELECT * FROM attendance ORDER BY part_id, person_id") == before


def test_a_result_on_a_part_without_a_pass_requirement_warns_once(tmp_path: Path) -> None:
    data = [list(row) for row in ROWS]
    data[0][12] = data[1][12] = "Voldoende"  # results on Dag 1, which has no exam
    path = flat_csv(tmp_path / "export", data)
    report = import_into(tmp_path / "c.db", path, settings=settings())
    assert report.warnings == [
        f"2 results are registered on a part that requires no pass ({path}:2, {path}:3); "
        "they are not counted: set pass_required on the part if its exam counts"
    ]


def test_a_snapshot_of_a_flat_file_without_rows_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    import_into(db, flat_csv(tmp_path / "export"), settings=settings())
    empty = flat_csv(tmp_path / "export", [])
    with pytest.raises(ImportFailed) as failure:
        import_into(db, empty, settings=settings(), snapshot=True)
    assert any("has no data rows" in problem for problem in failure.value.problems)
    assert rows(db, "SELECT count(*) FROM attendance") == [(4,)]


def test_tables_named_by_glob_with_their_own_headers_and_ignored_files(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    write(folder, "Opleidingen 2026-12-07.csv", "Code;Naam;Status;Eind\nC1;EHBO;final;5-11-2026\n")
    write(folder, "Thumbs.db", "x")
    write(folder, "handleiding.pdf", "x")
    chosen = ImportSettings.model_validate(
        {
            "ignore": ["*.pdf", "thumbs.db"],
            "tables": {
                "courses": {
                    "file": "opleidingen*.csv",
                    "columns": {"course_id": " code ", "name": "NAAM", "end": "Eind"},
                }
            },
        }
    )
    db = tmp_path / "c.db"
    report = import_into(db, folder, settings=chosen)
    assert report.warnings == []
    assert rows(db, "SELECT course_id, name, status FROM courses") == [("C1", "EHBO", "final")]


def write_xlsx(path: Path, data: list[list[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Export")
    sheet.append(HEADERS)
    for row in data:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def test_a_workbook_is_read_directly_with_its_date_cells(tmp_path: Path) -> None:
    data: list[list[object]] = [list(row) for row in ROWS]
    for row in data:
        row[4] = dt.date(2026, 11, 12)
    path = write_xlsx(tmp_path / "export" / "Deelnemers.xlsx", data)
    db = tmp_path / "c.db"
    import_into(db, path, settings=settings(file="deelnemers*.xlsx", sheet="export"))
    # a date without a time ends at the end of that day, Amsterdam time
    assert rows(db, 'SELECT "end", end_is_date FROM courses') == [("2026-11-12T23:00:00Z", 1)]
    data[0][8] = data[2][8] = "Zoë\nAnna"  # Alt+Enter in a name cell
    write_xlsx(path, data)
    report = import_into(db, path, settings=settings(file="deelnemers*.xlsx"))
    assert report.warnings == [
        f"{path}!Export:{row}: column 'Voornaam' (first_name): line break replaced by a space"
        for row in (2, 4)
    ]
    assert rows(db, "SELECT first_name FROM persons WHERE person_id = 'R1'") == [("Zoë Anna",)]
    data[1][10] = "bram-at-example"
    write_xlsx(path, data)
    with pytest.raises(ImportFailed) as failure:
        import_into(db, path, settings=settings(file="deelnemers*.xlsx"))
    assert failure.value.problems[0].startswith(
        f"{path}!Export:3: column 'E-mailadres' (email): 'bram-at-example' is not an e-mail"
    )


def test_workbook_cells_that_are_equal_as_values_keep_their_own_texts(tmp_path: Path) -> None:
    data: list[list[object]] = [list(row) for row in ROWS]
    data[0][8] = data[2][8] = True  # a yes/no cell, and a number cell that equals it
    data[1][8] = data[3][8] = 1
    path = write_xlsx(tmp_path / "export" / "Deelnemers.xlsx", data)
    db = tmp_path / "c.db"
    import_into(db, path, settings=settings(file="deelnemers*.xlsx"))
    assert rows(db, "SELECT person_id, first_name FROM persons ORDER BY 1") == [
        ("R1", "yes"),
        ("R2", "1"),
    ]


def test_a_csv_named_as_a_workbook_is_named_for_what_it_is(tmp_path: Path) -> None:
    path = flat_csv(tmp_path / "export", name="Deelnemers.xlsx")
    with pytest.raises(ImportFailed) as failure:
        import_into(tmp_path / "c.db", path, settings=settings())
    assert failure.value.problems == [
        f"{path}:1: a text file (CSV?), not an Excel workbook; rename it to Deelnemers.csv"
    ]


ACTIONS = """\
version: 1
timezone: Europe/Amsterdam
sender: "Opleidingen <opleidingen@example.org>"
import:
  encoding: cp1252
  flat:
    file: "Deelnemers*"
    columns: {columns}
  values:
    passed: {{Gezakt: no}}
actions:
  - id: certificate
    name: Certificaat
    email_template: certificate
    timing: {{after: course_end, offset: 1, unit: days}}
    conditions: {{course_status: final, attendance: yes, pass: yes}}
"""


def test_the_cli_imports_a_flat_export_quietly_as_cron_runs_it(tmp_path: Path) -> None:
    flat_csv(tmp_path / "export")
    mapping = "{" + ", ".join(f"{k}: {v}" for k, v in COLUMNS.items()) + "}"
    write(tmp_path, "actions.yaml", ACTIONS.format(columns=mapping))
    done = run_cli("import", "export", "--db", "c.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing for cron to mail
    assert "attendance: 4 inserted" in done.stdout
    bad = ACTIONS.format(columns=mapping.replace("course_end: Einddatum", "course_end: Einde"))
    write(tmp_path, "actions.yaml", bad)
    failed = run_cli("import", "export", "--db", "c.db", cwd=tmp_path)
    assert failed.returncode == 1
    assert "column 'course_end' is mapped to header 'Einde', which the file lacks" in failed.stderr
    # and where actions.yaml maps it, which is where it is put right
    assert "; change it at actions.yaml:" in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr


def test_a_table_may_come_as_a_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Blad1"
    for row in (
        ["course_id", "name", "status", "end"],
        ["C1", "EHBO", "final", dt.datetime(2026, 11, 5, 17, 0)],
    ):
        sheet.append(row)
    folder = tmp_path / "export"
    folder.mkdir()
    book.save(folder / "courses.xlsx")
    db = tmp_path / "c.db"
    import_into(db, folder)
    # a date and time cell is a local time: 17:00 in Amsterdam is 16:00 UTC
    assert rows(db, 'SELECT "end", end_is_date FROM courses') == [("2026-11-05T16:00:00Z", 0)]


def test_a_mistake_in_the_import_section_is_located_in_actions_yaml(tmp_path: Path) -> None:
    from certify.config import load
    from certify.errors import ConfigError

    mapping = "{course_idd: Opleidingscode, course_name: Naam}"
    path = write(tmp_path, "actions.yaml", ACTIONS.format(columns=mapping))
    with pytest.raises(ConfigError) as failure:
        load(path)
    (problem,) = failure.value.problems
    assert problem.startswith(f"{path}:8:")
    assert "unknown column 'course_idd' of a flat file" in problem
    assert "did you mean 'course_id'?" in problem


def test_a_utf8_export_under_a_declared_cp1252_is_read_as_utf8_with_a_warning(
    tmp_path: Path,
) -> None:
    path = flat_csv(tmp_path / "export")
    path.write_bytes(path.read_bytes().decode("cp1252").encode("utf-8"))
    db = tmp_path / "c.db"
    report = import_into(db, path, settings=settings())
    assert report.warnings == [
        f"{path}: UTF-8, not cp1252 as the import: section of actions.yaml declares; read as "
        "UTF-8 (declare the encoding the exports have)"
    ]
    assert rows(db, "SELECT full_name FROM persons WHERE person_id = 'R1'") == [("Zoë Öztürk",)]
