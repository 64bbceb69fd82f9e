"""`explain` and `log` as an administrator uses them on the phone: find the person by name or
address, read why in 80 columns, and see the command that settles a problem."""

from __future__ import annotations

import json
import sqlite3
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.helpers import DEMO_NOW, cli

NOW = DEMO_NOW


def explain(demo_sent: Path, *args: str) -> tuple[int, str, str]:
    result = cli("explain", "--now", NOW, *args, cwd=demo_sent)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(
    "person", ["P004", "f.devries@example.nl", "F.DeVries@Example.nl", "fenna", "De Vries"]
)
def test_the_person_by_id_address_or_part_of_a_name(demo_sent: Path, person: str) -> None:
    code, out, _ = explain(demo_sent, "--person", person)
    assert code == 0 and out.startswith("Fenna de Vries in VCA Basis veiligheid (VCA-2611/P004)")


def test_accents_and_case_do_not_matter(demo_sent: Path) -> None:
    code, out, _ = explain(demo_sent, "--person", "ZOE")
    assert code == 0 and out.startswith("Zoë Öztürk in VCA Basis veiligheid")


def test_several_matches_are_listed_to_choose_from(demo_sent: Path) -> None:
    code, _, err = explain(demo_sent, "--person", "berg")
    assert code == 1
    assert "2 persons match 'berg'" in err
    assert "P001 Jan van der Berg <jan.vanderberg@example.nl>" in err
    assert "P003 Bram van der Berg" in err and "--person with their id" in err
    code, _, err = explain(demo_sent, "--person", "nobody-like-this")
    assert code == 1 and "no person matches" in err


def test_a_name_matches_names_and_whole_addresses_never_a_domain(demo_sent: Path) -> None:
    with sqlite3.connect(demo_sent / "certify.db") as conn:
        conn.execute(
            "UPDATE persons SET email = 'sanne@installatie-noord.nl' WHERE person_id = 'P005'"
        )
    code, out, err = explain(demo_sent, "--person", "noor")
    assert code == 0, err
    assert out.startswith("Noor el Amrani in ") and "Sanne" not in out
    code, out, _ = explain(demo_sent, "--person", "SANNE@Installatie-Noord.nl")
    assert code == 0 and out.startswith("Sanne Jansen in ")
    code, _, err = explain(demo_sent, "--person", "installatie-noord")
    assert code == 1 and "no person matches 'installatie-noord'" in err


def test_a_person_in_several_courses_is_shown_in_each(demo_sent: Path) -> None:
    # in VCA-2611 and in the March 2025 course
    code, out, err = explain(demo_sent, "--person", "P001")
    assert code == 0, err
    headers = [line for line in out.splitlines() if line.startswith("Jan van der Berg in ")]
    assert [header.rsplit("(", 1)[1] for header in headers] == ["VCA-2611/P001)", "VCA-2503/P001)"]
    latest, earlier = out.split(headers[1])
    assert "Certificate: " in latest and "skipped" in earlier
    data = json.loads(
        cli(
            "explain",
            "--person",
            "jan.vanderberg@example.nl",
            "--json",
            "--now",
            NOW,
            cwd=demo_sent,
        ).stdout
    )
    assert [item["course"] for item in data] == ["VCA-2611", "VCA-2503"]
    assert all(item["person"] == "P001" and item["actions"] for item in data)
    code, out, _ = explain(demo_sent, "--person", "P001", "--course", "VCA-2503")
    assert code == 0 and "skipped" in out and "VCA-2611" not in out
    one = json.loads(
        cli(
            "explain",
            "--person",
            "P001",
            "--course",
            "VCA-2503",
            "--json",
            "--now",
            NOW,
            cwd=demo_sent,
        ).stdout
    )
    assert one["course"] == "VCA-2503"  # one enrollment: the object itself


def test_every_line_fits_in_80_columns(demo_sent: Path) -> None:
    people = [f"P{n:03d}" for n in range(2, 32) if n != 1]
    for person in people:
        code, out, err = explain(demo_sent, "--person", person)
        assert code == 0, err
        assert all(len(line) <= 80 for line in out.splitlines()), out


def test_a_problem_says_the_command_that_settles_it(demo_sent: Path) -> None:
    with sqlite3.connect(demo_sent / "certify.db") as conn:
        conn.execute(
            "UPDATE deliveries SET state = 'unknown' WHERE person_id = 'P002' AND action = 'certificate'"
        )
    _, out, _ = explain(demo_sent, "--person", "P002")
    assert "settle: check the mail server's log, then: certify mark certificate" in out
    data = json.loads(
        cli("explain", "--person", "P002", "--json", "--now", NOW, cwd=demo_sent).stdout
    )
    (certificate,) = [a for a in data["actions"] if a["action"] == "certificate"]
    assert certificate["settle"].endswith('--as sent|failed --reason "..."')


def test_log_by_course_and_person(demo_sent: Path) -> None:
    by_course = json.loads(cli("log", "--json", "--course", "WEB-2611", cwd=demo_sent).stdout)
    assert {row["course"] for row in by_course} == {"WEB-2611"} and len(by_course) == 5
    by_name = json.loads(cli("log", "--json", "--person", "van der berg", cwd=demo_sent).stdout)
    assert {row["person"] for row in by_name} == {"P001", "P003"}


def test_after_a_forced_resend_the_log_shows_the_message_id_that_was_sent(demo_sent: Path) -> None:
    args = ("--course", "WEB-2611", "--person", "P019", "--now", NOW, "--transport", "dir",
            "--out", "outbox")  # fmt: skip
    (first,) = json.loads(cli("log", "--json", "--person", "P019", cwd=demo_sent).stdout)
    forced = cli(
        "send", "proof-of-participation", *args, "--force", "--reason", "new address", cwd=demo_sent
    )
    assert forced.returncode == 0, forced.stderr
    (after,) = json.loads(cli("log", "--json", "--person", "P019", cwd=demo_sent).stdout)
    assert after["message_id"] != first["message_id"]
    # the first file stays as it was sent; the resend is written beside it, never over it
    for name, record in (("P019", first), ("P019~2", after)):
        eml = (demo_sent / "outbox" / f"proof-of-participation--WEB-2611--{name}.eml").read_bytes()
        assert message_from_bytes(eml, policy=policy.default)["Message-ID"] == record["message_id"]
    assert after["message_id"] in forced.stdout
