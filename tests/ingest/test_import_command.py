"""`certify import` from the command line: the snapshot guards, encodings and -q as an
administrator meets them, on the shipped examples."""

import sqlite3
from pathlib import Path

from tests.helpers import ROOT, cli, file_digest, run_cli

NOW = "2026-11-01T08:00"


def _imported(examples: Path) -> Path:
    result = cli("import", "examples", "--now", NOW, cwd=examples)
    assert result.returncode == 0, result.stderr
    return examples / "certify.db"


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_a_failed_enrollments_export_cancels_nobody(examples: Path) -> None:
    db = _imported(examples)
    before = file_digest(db)
    (examples / "examples" / "enrollments.csv").write_text("course_id,person_id,status\n")
    result = cli("import", "examples", "--snapshot", cwd=examples)
    assert result.returncode == 1
    assert (
        "examples/enrollments.csv has no data rows (a failed export?) and would cancel 31 of 32 "
        "enrollments (97 %); --max-remove 100 to empty the table on purpose" in result.stderr
    )
    assert "hint: nothing was imported" in result.stderr
    assert file_digest(db) == before
    assert _count(db, "SELECT count(*) FROM enrollments WHERE status = 'enrolled'") == 31


def test_the_spec_example_and_its_suggested_max_remove(examples: Path) -> None:
    db = _imported(examples)
    before = file_digest(db)
    # only the one participant who had cancelled already is left in the export
    (examples / "examples" / "enrollments.csv").write_text(
        "course_id,person_id,status\nVCA-2611,P007,geannuleerd\n"
    )
    refused = cli("import", "examples", "--snapshot", cwd=examples)
    assert refused.returncode == 1
    assert (
        "examples/enrollments.csv would cancel 31 of 32 enrollments (97 %); "
        "--max-remove 97 to allow" in refused.stderr
    )
    assert file_digest(db) == before
    not_enough = cli("import", "examples", "--snapshot", "--max-remove", "96", cwd=examples)
    assert not_enough.returncode == 1 and file_digest(db) == before
    allowed = cli("import", "examples", "--snapshot", "--max-remove", "97", cwd=examples)
    assert allowed.returncode == 0, allowed.stderr
    assert "enrollments: 0 inserted, 0 updated, 1 unchanged, 31 cancelled" in allowed.stdout
    assert _count(db, "SELECT count(*) FROM enrollments WHERE status = 'enrolled'") == 0


def test_the_readme_cron_line_with_a_header_only_attendance_file_keeps_every_row(
    examples: Path,
) -> None:
    db = _imported(examples)
    held = _count(db, "SELECT count(*) FROM attendance")
    before = file_digest(db)
    (examples / "examples" / "attendance.csv").write_text("part_id,person_id,present\n")
    # as cron runs it: a real process, no terminal, quiet
    result = run_cli("import", "examples", "--snapshot", "-q", cwd=examples)
    assert result.returncode == 1
    assert f"would remove {held} of {held} attendance rows (100 %)" in result.stderr
    assert "Traceback" not in result.stderr
    assert file_digest(db) == before


def test_max_remove_is_a_usage_error_without_snapshot_or_out_of_range(examples: Path) -> None:
    alone = cli("import", "examples", "--max-remove", "100", cwd=examples)
    assert alone.returncode == 2
    assert "--max-remove goes with --snapshot" in alone.stderr
    assert not (examples / "certify.db").exists()
    too_much = cli("import", "examples", "--snapshot", "--max-remove", "150", cwd=examples)
    assert too_much.returncode == 2


def test_quiet_prints_nothing_on_success_but_warnings(examples: Path) -> None:
    silent = cli("import", "examples", "-q", "--now", NOW, cwd=examples)
    assert silent.returncode == 0
    assert silent.stdout == "" and silent.stderr == ""
    (examples / "examples" / "deelnemers.csv").write_text("course_id,person_id\n")
    noted = cli("import", "examples", "--quiet", cwd=examples)
    assert noted.returncode == 0 and noted.stdout == ""
    assert noted.stderr.startswith("warning: examples/deelnemers.csv: not a known table name")
    loud = cli("import", "examples", cwd=examples)
    assert "enrollments: 0 inserted, 0 updated, 32 unchanged, 0 cancelled" in loud.stdout


def test_quiet_still_reports_errors(examples: Path) -> None:
    (examples / "examples" / "courses.csv").write_text(
        "course_id,name,status,end\nX,Y,final,31-02-2026\n"
    )
    result = cli("import", "examples", "-q", cwd=examples)
    assert result.returncode == 1
    assert "courses.csv:2: column 'end': cannot read '31-02-2026' as a date" in result.stderr


def test_odd_bytes_end_in_a_located_error_not_a_traceback(examples: Path) -> None:
    db = _imported(examples)
    before = file_digest(db)
    persons = examples / "examples" / "persons.csv"
    lines = persons.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b";", b"\x81;", 1)
    persons.write_bytes(b"".join(lines))
    result = run_cli("import", "examples", cwd=examples)
    assert result.returncode == 1
    assert (
        "examples/persons.csv:5: byte 0x81 is neither UTF-8 nor Windows-1252; save the export "
        'as UTF-8 (Excel: "CSV UTF-8")' in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert file_digest(db) == before


def test_excel_unicode_text_is_imported(examples: Path) -> None:
    persons = examples / "examples" / "persons.csv"
    text = persons.read_text(encoding="utf-8").replace(";", "\t").replace("\n", "\r\n")
    persons.write_bytes(("\ufeff" + text).encode("utf-16-le"))
    result = cli("import", "examples", "--now", NOW, cwd=examples)
    assert result.returncode == 0, result.stderr
    assert "persons: 31 inserted" in result.stdout
    db = examples / "certify.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT full_name FROM persons WHERE person_id = 'P002'"
        ).fetchone() == ("Zoë Öztürk",)


def test_a_language_word_is_a_warning_and_the_person_has_none(examples: Path) -> None:
    persons = examples / "examples" / "persons.csv"
    persons.write_text(persons.read_text().replace(";nl;", ";Nederlands;", 1))
    result = cli("import", "examples", "--now", NOW, cwd=examples)
    assert result.returncode == 0
    assert (
        "warning: examples/persons.csv:2: column 'language': 'Nederlands' is not a language "
        "code (such as nl, en or en-GB); the person gets the default templates and date format"
    ) in result.stderr
    with sqlite3.connect(examples / "certify.db") as conn:
        assert conn.execute("SELECT language FROM persons WHERE person_id = 'P001'").fetchone() == (
            None,
        )


def test_one_failed_import_lists_cells_columns_duplicates_and_references_at_once(
    examples: Path,
) -> None:
    db = _imported(examples)
    before = file_digest(db)
    folder = examples / "examples"

    def edit(name: str, old: str, new: str) -> None:
        text = (folder / name).read_text(encoding="utf-8")
        assert old in text
        (folder / name).write_text(text.replace(old, new, 1), encoding="utf-8")

    edit("attendance.csv", "VCA-2611-2,P001,ja", "VCA-2611-2,P001,jawel")
    edit("persons.csv", "zoe.ozturk@example.nl", "zoe.ozturk-example.nl")
    edit("results.csv", "passed;", "geslaagd;")
    with (folder / "enrollments.csv").open("a", encoding="utf-8") as enrollments:
        enrollments.write("VCA-2611,P001,ingeschreven,\nVCA-2612,P003,ingeschreven,\n")
    result = cli("import", "examples", "--now", NOW, cwd=examples)
    assert result.returncode == 1
    for problem in (
        "examples/attendance.csv:3: column 'present': cannot read 'jawel' as yes or no",
        "examples/persons.csv:3: column 'email': 'zoe.ozturk-example.nl' is not an e-mail",
        "examples/results.csv:1: missing required column 'passed'",
        "examples/enrollments.csv:2: duplicate key course_id+person_id = 'VCA-2611 + P001'",
        "examples/enrollments.csv:35: column 'course_id': course 'VCA-2612' exists neither",
    ):
        assert problem in result.stderr, result.stderr
    assert "error: import: 5 problem" in result.stderr
    assert file_digest(db) == before


def test_without_actions_yaml_an_import_refuses_rather_than_guess_a_zone(tmp_path: Path) -> None:
    exports = ROOT / "examples"
    result = cli("import", str(exports), "--now", NOW, cwd=tmp_path)
    assert result.returncode == 1
    assert "no actions.yaml at actions.yaml, so no time zone" in result.stderr
    assert "--actions FILE, or --timezone ZONE" in result.stderr
    assert not (tmp_path / "certify.db").exists()


def test_timezone_reads_the_exports_local_times_without_actions_yaml(tmp_path: Path) -> None:
    exports = ROOT / "examples"
    result = cli(
        "import", str(exports), "--timezone", "Europe/Amsterdam", "--now", NOW, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    # 12-11-2026 ends at the midnight after it, Amsterdam time (CET, UTC+1)
    with sqlite3.connect(tmp_path / "certify.db") as conn:
        end = conn.execute("SELECT \"end\" FROM courses WHERE course_id = 'VCA-2611'").fetchone()
    assert end == ("2026-11-12T23:00:00Z",)


def test_an_unknown_timezone_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("import", str(ROOT / "examples"), "--timezone", "Europe/Amsterdm", cwd=tmp_path)
    assert result.returncode == 2
    assert "--timezone" in result.stderr and "Europe/Amsterdm" in result.stderr


def test_an_actions_yaml_without_timezone_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "actions.yaml").read_text(encoding="utf-8")
    (tmp_path / "actions.yaml").write_text(text.replace("timezone: Europe/Amsterdam", ""))
    (tmp_path / "templates").symlink_to(ROOT / "templates")
    result = cli("import", str(ROOT / "examples"), cwd=tmp_path)
    assert result.returncode == 1
    assert "sets no timezone" in result.stderr
    assert not (tmp_path / "certify.db").exists()


def test_an_export_of_its_own_shape_points_to_the_import_section(tmp_path: Path) -> None:
    # an administrator's first try: their training system's one file, no import: section yet
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "Deelnemers per onderdeel.csv").write_text(
        "Opleidingscode;Relatienummer;Aanwezig\nOPL-1;R1;Ja\n", encoding="utf-8"
    )
    (tmp_path / "actions.yaml").write_text(
        (ROOT / "actions.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    whole = cli("import", "exports", "--db", "c.db", cwd=tmp_path)
    assert whole.returncode != 0
    assert "found Deelnemers per onderdeel.csv" in whole.stderr
    assert "through the import: section of actions.yaml (flat: for one file" in whole.stderr
    one = cli(
        "import", "--table", "flat", "exports/Deelnemers per onderdeel.csv", "--db", "c.db",
        cwd=tmp_path,
    )  # fmt: skip
    assert one.returncode == 2
    assert "unknown table 'flat'" in one.stderr
    assert "through the import: section of actions.yaml" in one.stderr
    assert not (tmp_path / "c.db").exists()
