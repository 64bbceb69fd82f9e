"""`certify forget`: a person's data gone from every table and from the database's files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.helpers import cli, make_config, rows

NOW = "2026-11-06T09:00"
SECRETS = (b"Bram", b"bram@example.org", b"Berg")


def _world(tmp_path: Path, export: Callable[..., Path], top: str = "") -> Path:
    make_config(tmp_path, top=top)
    # P1 gets a sent delivery; P2 a note in a free text that names her
    assert cli("import", str(export()), "--now", "2026-11-01T08:00", cwd=tmp_path).returncode == 0
    ran = cli("run-due", "--now", NOW, "--transport", "dir", "--out", "out", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    return tmp_path / "certify.db"


def _raw_bytes(db: Path) -> bytes:
    return b"".join(
        path.read_bytes()
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
        if path.exists()
    )


def test_forget_erases_the_person_from_every_table_and_the_files(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = _world(tmp_path, export)
    with sqlite3.connect(db) as conn:  # a reason typed by hand that names the person
        conn.execute(
            "UPDATE delivery_events SET detail = 'sent to Bram van der Berg <bram@example.org>' "
            "WHERE delivery_id = (SELECT id FROM deliveries WHERE person_id = 'P1')"
        )
    assert all(secret in _raw_bytes(db) for secret in SECRETS)
    ran = cli("forget", "--person", "P1", "--reason", "asked by e-mail, ticket 42", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "forgot person P1; kept without personal data: 1 enrollment, 1 delivery" in ran.stdout
    raw = _raw_bytes(db)
    assert not any(secret in raw for secret in SECRETS), [s for s in SECRETS if s in raw]
    assert b"zoe@example.org" in raw  # the others stay
    # what stays is anonymous: the state, the certificate number, the counts
    assert rows(db, "SELECT state, certificate_number IS NOT NULL, email FROM deliveries "
                "WHERE person_id = 'P1'") == [("sent", 1, None)]  # fmt: skip
    assert rows(db, "SELECT email, full_name, first_name, last_name, language, extra "
                "FROM persons WHERE person_id = 'P1'") == [("", None, None, None, None, None)]  # fmt: skip
    ((person, reason, counts),) = rows(db, "SELECT person_id, reason, counts FROM erasures")
    assert (person, reason) == ("P1", "asked by e-mail, ticket 42")
    assert json.loads(counts)["deliveries"] == 1
    again = cli("forget", "--person", "P1", "--reason", "again", cwd=tmp_path)
    assert again.returncode == 1 and "person 'P1': already forgotten" in again.stderr
    unknown = cli("forget", "--person", "P9", "--reason", "typo", cwd=tmp_path)
    assert unknown.returncode == 1 and "person 'P9': not in the database" in unknown.stderr


def test_an_old_export_does_not_bring_a_forgotten_person_back(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = _world(tmp_path, export)
    assert cli("forget", "--person", "P2", "--reason", "left", cwd=tmp_path).returncode == 0
    ran = cli("import", str(export()), "--now", "2026-11-07T08:00", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    # P2: a person, an enrollment, two attendance rows and a result
    assert "5 rows of persons whose data was erased (certify forget) left out" in ran.stderr
    assert rows(db, "SELECT email, full_name FROM persons WHERE person_id = 'P2'") == [("", None)]
    assert rows(db, "SELECT status FROM enrollments WHERE person_id = 'P2'") == [("cancelled",)]
    assert b"zoe@example.org" not in _raw_bytes(db)


def test_a_pending_delivery_of_a_forgotten_person_is_never_sent(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = _world(tmp_path, export)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deliveries SET state = 'pending', sent_at = NULL")
    ran = cli("forget", "--person", "P1", "--reason", "asked", cwd=tmp_path)
    assert "1 delivery not sent yet will never be" in ran.stdout
    assert rows(db, "SELECT state, last_error FROM deliveries") == [
        ("expired", "not sent: the person's data was erased (certify forget)")
    ]
    ran = cli("run-due", "--now", "2026-11-08T09:00", "--transport", "dir", "--out", "out2",
              cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 0 and not (tmp_path / "out2").exists()


def test_run_due_forgets_persons_past_the_retention_period(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = _world(tmp_path, export, top="retention: {personal_data: 1 year}\n")
    ran = cli("run-due", "--now", "2027-11-05T09:00", "--transport", "dir", "--out", "out",
              cwd=tmp_path)  # fmt: skip
    assert "forgot" not in ran.stdout  # the course ended less than a year ago (17:00)
    ran = cli("run-due", "--now", "2027-11-06T09:00", "--transport", "dir", "--out", "out",
              "--json", cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 0 and json.loads(ran.stdout)["forgotten"] == 2
    assert rows(db, "SELECT person_id, reason FROM erasures ORDER BY person_id") == [
        ("P1", "retention: personal data is kept 1 year after the last course"),
        ("P2", "retention: personal data is kept 1 year after the last course"),
    ]
    assert not any(secret in _raw_bytes(db) for secret in SECRETS)


def test_retention_is_read_in_years_or_months(tmp_path: Path) -> None:
    from certify.config import load

    for written, months in (("7 years", 84), ("18 months", 18), ("1 year", 12)):
        make_config(tmp_path, top=f"retention: {{personal_data: {written}}}\n")
        assert load(tmp_path / "actions.yaml").settings.retention.personal_data == months
    actions = tmp_path / "actions.yaml"
    actions.write_text(actions.read_text().replace("1 year}", "7 fortnights}"))
    ran = cli("validate", cwd=tmp_path)
    assert ran.returncode == 1 and "cannot read '7 fortnights' as a time to keep" in ran.stderr
