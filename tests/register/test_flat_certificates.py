"""The previous system's certificates named by a flat export's own columns (SPEC 9.6): they
join the register with the rest of the file, in the same transaction."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli, write
from tests.ingest.test_flat import ACTIONS, COLUMNS, HEADERS, ROWS

CERTIFICATE_HEADERS = ["Certificaatnummer", "Certificaat", "Uitgereikt", "Geldig tot"]
CERTIFICATE_COLUMNS = {
    "certificate_number": "Certificaatnummer",
    "certificate_action": "Certificaat",
    "certificate_issued_on": "Uitgereikt",
    "certificate_valid_until": "Geldig tot",
}
# per row of ROWS (R1, R2, R1, R2): R1's certificate on both its rows, R2's on its first
# only, and without an end of validity
CERTIFICATES = [
    ["OUD-1", "certificate", "13-11-2024", "12-11-2025"],
    ["OUD-2", "certificate", "14-11-2024", ""],
    ["OUD-1", "certificate", "13-11-2024", "12-11-2025"],
    ["", "", "", ""],
]


def export(folder: Path, certificates: list[list[str]] = CERTIFICATES) -> None:
    """The flat file of tests/ingest with the four certificate columns, and an actions.yaml
    mapping them, whose certificate action is valid for a year."""
    (folder / "export").mkdir(parents=True, exist_ok=True)
    lines = [";".join(HEADERS + CERTIFICATE_HEADERS)] + [
        ";".join(row + extra) for row, extra in zip(ROWS, certificates, strict=True)
    ]
    (folder / "export" / "Deelnemers.csv").write_bytes(
        ("\r\n".join(lines) + "\r\n").encode("cp1252")
    )
    mapping = {**COLUMNS, **CERTIFICATE_COLUMNS}
    text = ACTIONS.format(columns="{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}")
    write(folder, "actions.yaml", text + "    validity: 1 year\n")


def test_a_flat_export_brings_its_certificates_into_the_register(tmp_path: Path) -> None:
    export(tmp_path)
    done = run_cli("import", "export", "--db", "c.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "certificates: 2 imported" in done.stdout
    listed = run_cli("certificates", "list", "--json", "--db", "c.db", cwd=tmp_path)
    found = {
        entry["number"]: tuple(
            entry[key] for key in ("person_id", "course_id", "source", "issued_on", "valid_until")
        )
        for entry in json.loads(listed.stdout)
    }
    assert found == {
        "OUD-1": ("R1", "BHV-1", "imported", "2024-11-13", "2025-11-12"),
        # none given: the course's end date (12 November 2026) plus the action's validity
        "OUD-2": ("R2", "BHV-1", "imported", "2024-11-14", "2027-11-12"),
    }
    again = run_cli("import", "export", "--db", "c.db", cwd=tmp_path)
    assert "certificates: 0 imported" in again.stdout


def test_rows_that_say_another_certificate_of_one_participant_are_named_both(
    tmp_path: Path,
) -> None:
    changed = [list(row) for row in CERTIFICATES]
    changed[2][3] = "12-11-2026"  # R1's exam row: valid a year longer than its first row
    export(tmp_path, changed)
    failed = run_cli("import", "export", "--db", "c.db", cwd=tmp_path)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    said = " ".join(failed.stderr.split())
    assert (
        "Deelnemers.csv:4: column 'Geldig tot' (certificate_valid_until): the certificate of "
        "enrollment 'BHV-1' + 'R1' has '12-11-2026' here but '12-11-2025' at "
    ) in said
    assert "Deelnemers.csv:2; rows that repeat it must agree" in said
    assert not (tmp_path / "c.db").exists()  # nothing of the file is taken


def test_a_flat_certificate_naming_an_unknown_action_or_anothers_number_is_located(
    tmp_path: Path,
) -> None:
    changed = [list(row) for row in CERTIFICATES]
    changed[0][1] = changed[2][1] = "certificaat"
    export(tmp_path, changed)
    failed = run_cli("import", "export", "--db", "c.db", cwd=tmp_path)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    said = " ".join(failed.stderr.split())
    assert "Deelnemers.csv:2: column 'Certificaat' (certificate_action): no action " in said
    assert not (tmp_path / "c.db").exists()  # a failed first import leaves no database
    changed = [list(row) for row in CERTIFICATES]
    changed[1][0] = "OUD-1"  # R2's certificate with R1's number
    export(tmp_path, changed)
    failed = run_cli("import", "export", "--db", "c.db", cwd=tmp_path)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    said = " ".join(failed.stderr.split())
    assert (
        "Deelnemers.csv:3: column 'Certificaatnummer' (certificate_number): certificate "
        "'OUD-1' is that of enrollment 'BHV-1' + 'R1' at "
    ) in said
    assert not (tmp_path / "c.db").exists()
