"""`certify mark` settles by hand only what is not yet known to be delivered; what was
sent, skipped or expired changes only with --force. A person named where an id belongs is
told whom it may mean."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.helpers import DEMO_NOW, Ran, cli, rows, run_due

NOW = DEMO_NOW
LATER = "2026-11-20T11:00"
UNREACHABLE = ("--transport", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", "9",
               "--smtp-security", "none")  # fmt: skip


def mark(switched_on: Path, person: str, state: str, *extra: str, course: str = "VCA-2611") -> Ran:
    return cli(
        "mark", "certificate", "--course", course, "--person", person, "--as", state,
        "--reason", "bounced: mailbox unavailable", *extra, cwd=switched_on,
    )  # fmt: skip


def state_of(switched_on: Path, person: str, course: str = "VCA-2611") -> str | None:
    found = rows(
        switched_on / "certify.db",
        "SELECT state FROM deliveries WHERE action = 'certificate' "
        f"AND course_id = '{course}' AND person_id = '{person}'",
    )
    return str(found[0][0]) if found else None


def events(switched_on: Path, person: str, course: str = "VCA-2611") -> list[tuple[object, ...]]:
    return rows(
        switched_on / "certify.db",
        "SELECT e.state, e.detail FROM delivery_events e JOIN deliveries d "
        "ON d.id = e.delivery_id WHERE d.action = 'certificate' "
        f"AND d.course_id = '{course}' AND d.person_id = '{person}' ORDER BY e.id",
    )


def outbox(switched_on: Path) -> set[str]:
    return {path.name for path in (switched_on / "outbox").glob("*.eml")}


def test_a_sent_delivery_is_not_marked_failed_without_force(switched_on: Path) -> None:
    """The user's report: a sent certificate marked failed, re-queued and sent again."""
    assert run_due(switched_on).returncode == 0
    eml = switched_on / "outbox" / "certificate--VCA-2611--P001.eml"
    assert state_of(switched_on, "P001") == "sent" and eml.exists()
    eml.unlink()  # the next send of it would write it anew

    refused = mark(switched_on, "P001", "failed")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "certificate for VCA-2611/P001 was sent: marking it failed needs --force" in (
        refused.stderr
    )
    assert "add --force" in refused.stderr
    assert "a later `certify retry --state failed` will then send it again" in refused.stderr
    assert state_of(switched_on, "P001") == "sent"
    retried = cli("retry", "--state", "failed", "--reason", "all of them", cwd=switched_on)
    assert retried.stdout.startswith("re-queued 0 failed deliveries")
    assert run_due(switched_on, now=LATER).returncode == 0
    assert not eml.exists()  # never twice

    # a bounce reported later is a deliberate change: it is audited, and the retry sends it
    forced = mark(switched_on, "P001", "failed", "--force")
    assert forced.returncode == 0
    assert forced.stdout.strip() == (
        "certificate VCA-2611/P001: marked failed (was sent); "
        "a later `certify retry --state failed` sends it again"
    )
    assert events(switched_on, "P001")[-1] == (
        "failed", "marked by hand (was sent): bounced: mailbox unavailable"
    )  # fmt: skip
    assert (
        cli("retry", "--state", "failed", "--reason", "new address", cwd=switched_on).returncode
        == 0
    )
    assert run_due(switched_on, now=LATER).returncode == 0
    assert eml.exists() and state_of(switched_on, "P001") == "sent"


def test_marking_the_state_it_has_changes_nothing(switched_on: Path) -> None:
    assert run_due(switched_on).returncode == 0
    before = events(switched_on, "P002")
    again = mark(switched_on, "P002", "sent")
    assert again.returncode == 0
    assert again.stdout.strip() == "certificate VCA-2611/P002 is already sent; nothing changed"
    assert events(switched_on, "P002") == before


def test_what_is_not_known_to_be_delivered_is_settled_without_force(switched_on: Path) -> None:
    # a mail server that refuses the connection: P001, P002 and P003 attempted, all pending
    assert run_due(switched_on, *UNREACHABLE).returncode == 3
    assert {state_of(switched_on, p) for p in ("P001", "P002", "P003", "P008")} == {"pending"}

    handed = mark(switched_on, "P001", "sent")  # handed over by hand meanwhile
    assert handed.returncode == 0
    assert handed.stdout.strip() == (
        "certificate VCA-2611/P001: marked sent (was pending); no run sends it"
    )
    given_up = mark(switched_on, "P002", "failed")
    assert given_up.returncode == 0 and "marked failed (was pending)" in given_up.stdout
    assert mark(switched_on, "P002", "sent").stdout.strip() == (
        "certificate VCA-2611/P002: marked sent (was failed); no run sends it"
    )
    with sqlite3.connect(switched_on / "certify.db") as conn:  # as a run that died mid-handover
        conn.execute(
            "UPDATE deliveries SET state = 'unknown' WHERE action = 'certificate' "
            "AND course_id = 'VCA-2611' AND person_id = 'P003'"
        )
    assert "marked failed (was unknown)" in mark(switched_on, "P003", "failed").stdout
    assert events(switched_on, "P003")[-1] == (
        "failed", "marked by hand (was unknown): bounced: mailbox unavailable"
    )  # fmt: skip
    # the next run, with a working transport, sends only what nobody settled
    assert run_due(switched_on, now=LATER).returncode == 0
    assert outbox(switched_on) & {
        f"certificate--VCA-2611--{p}.eml" for p in ("P001", "P002", "P003")
    } == (set())
    assert "certificate--VCA-2611--P008.eml" in outbox(switched_on)
    log = cli("log", "--state", "failed", "--json", cwd=switched_on).stdout
    assert "marked by hand (was unknown): bounced: mailbox unavailable" in log  # the last error


def test_a_participant_without_a_record_is_recorded_as_handed_over(switched_on: Path) -> None:
    assert state_of(switched_on, "P001") is None
    handed = cli(
        "mark", "certificate", "--course", "VCA-2611", "--person", "P001", "--as", "sent",
        "--reason", "handed over at the exam", cwd=switched_on,
    )  # fmt: skip
    assert handed.returncode == 0
    assert handed.stdout.strip() == (
        "certificate VCA-2611/P001: recorded as sent (handed over another way); no run sends it"
    )
    assert events(switched_on, "P001") == [
        ("sent", "marked by hand (no record before): handed over at the exam")
    ]
    figures = rows(
        switched_on / "certify.db",
        "SELECT due_at, json_extract(figures, '$.attendance.present') FROM deliveries "
        "WHERE action = 'certificate' AND course_id = 'VCA-2611' AND person_id = 'P001'",
    )
    assert figures == [("2026-11-13T08:00:00Z", 4)]  # 13 November 09:00, as a run keeps it
    assert run_due(switched_on).returncode == 0
    assert "certificate--VCA-2611--P001.eml" not in outbox(switched_on)
    assert "certificate--VCA-2611--P002.eml" in outbox(switched_on)
    told = cli("explain", "--course", "VCA-2611", "--person", "P001", "--now", NOW, cwd=switched_on)
    assert "sent at" in told.stdout and "None" not in told.stdout  # no number, no Message-ID


def test_failed_needs_a_record_and_the_hint_says_what_to_do(switched_on: Path) -> None:
    refused = mark(switched_on, "P005", "failed")
    assert refused.returncode == 1
    assert (
        "error: no delivery of certificate for VCA-2611/P005 in the log: nothing was sent, "
        "so nothing can be marked failed" in refused.stderr
    )
    assert "`--as sent` records one handed over another way" in refused.stderr
    assert "`certify explain --person P005 --course VCA-2611` says why none was made" in (
        refused.stderr
    )
    assert state_of(switched_on, "P005") is None


@pytest.mark.parametrize("state", ["skipped", "expired"])
def test_a_skipped_or_expired_delivery_says_how_to_send_it(switched_on: Path, state: str) -> None:
    # VCA-2503 (March 2025) was history when the actions were switched on
    assert state_of(switched_on, "P028", course="VCA-2503") == "skipped"
    if state == "expired":
        with sqlite3.connect(switched_on / "certify.db") as conn:
            conn.execute("UPDATE deliveries SET state = 'expired' WHERE person_id = 'P028'")
    refused = mark(switched_on, "P028", "sent", course="VCA-2503")
    assert refused.returncode == 1
    assert f"certificate for VCA-2503/P028 is {state}: due " in refused.stderr
    assert "so no run sends it" in refused.stderr
    assert (
        "to send it now: certify send certificate --course VCA-2503 --person P028 --force "
        "--reason TEXT; to mark it sent anyway (handed over another way), add --force"
    ) in refused.stderr
    assert state_of(switched_on, "P028", course="VCA-2503") == state
    forced = mark(switched_on, "P028", "sent", "--force", course="VCA-2503")
    assert forced.returncode == 0 and f"marked sent (was {state})" in forced.stdout


def test_a_course_the_action_does_not_act_on_is_not_recorded_by_mistake(switched_on: Path) -> None:
    refused = mark(switched_on, "P019", "sent", course="WEB-2611")
    assert refused.returncode == 1
    assert (
        "no run sends certificate for WEB-2611/P019: course type WEBINAR is not linked to this "
        "action (linked: VCA, BHV)"
    ) in refused.stderr
    assert "check the action and ids; add --force" in refused.stderr
    assert state_of(switched_on, "P019", course="WEB-2611") is None
    assert mark(switched_on, "P019", "sent", "--force", course="WEB-2611").returncode == 0
    assert state_of(switched_on, "P019", course="WEB-2611") == "sent"


def test_mark_help_says_what_it_settles_and_what_needs_force() -> None:
    listing = cli("--help", env={"COLUMNS": "100"}).stdout
    line = next(text for text in listing.splitlines() if text.strip().startswith("mark "))
    assert "e.g." not in line and "Settle one delivery by hand" in line
    text = " ".join(cli("mark", "--help", env={"COLUMNS": "100"}).stdout.split())
    assert "--force" in text and "a bounce reported later" in text
    assert "unknown, pending or failed" in text


@pytest.mark.parametrize("command", ["send", "mark", "preview"])
def test_a_name_where_a_person_id_belongs_suggests_the_person(
    switched_on: Path, command: str
) -> None:
    args = {
        "send": ("send", "certificate", "--transport", "dir", "--out", "outbox"),
        "mark": ("mark", "certificate", "--as", "sent", "--reason", "x"),
        "preview": ("preview", "certificate"),
    }[command]
    result = cli(*args, "--course", "VCA-2611", "--person", "fenna", cwd=switched_on)
    assert result.returncode == 1
    assert "error: no person with id 'fenna'" in result.stderr
    assert "did you mean P004 (Fenna de Vries)?" in result.stderr
    assert "`certify explain --person fenna` finds people by name or e-mail address" in (
        result.stderr
    )
    assert "not enrolled" not in result.stderr


def test_a_wrong_course_or_enrollment_is_named_as_such(switched_on: Path) -> None:
    send = ("send", "certificate", "--transport", "dir", "--out", "outbox")
    nowhere = cli(*send, "--course", "VCA-9999", "--person", "P004", cwd=switched_on)
    assert nowhere.returncode == 1 and "error: no course with id 'VCA-9999'" in nowhere.stderr
    elsewhere = cli(*send, "--course", "VCA-2611", "--person", "P028", cwd=switched_on)
    assert elsewhere.returncode == 1
    assert "error: P028 Ilse Huisman is not enrolled in course 'VCA-2611'" in elsewhere.stderr
    assert "hint: P028 is enrolled in VCA-2503" in elsewhere.stderr
    many = cli(*send, "--course", "VCA-2611", "--person", "de", cwd=switched_on)
    assert "did you mean P003 (Bram van der Berg), " in many.stderr and " more?" in many.stderr


def test_a_message_a_killed_run_was_handing_over_is_not_marked_failed_unseen(
    switched_on: Path,
) -> None:
    """mark settles the killed run first; the message may have arrived, so `--as failed` in
    that same command would let a routine retry send a second copy."""
    assert run_due(switched_on).returncode == 0
    assert "certificate--VCA-2611--P002.eml" in outbox(switched_on)
    with sqlite3.connect(
        switched_on / "certify.db"
    ) as conn:  # as a run killed mid-handover leaves it
        conn.execute(
            "UPDATE deliveries SET state = 'sending' WHERE action = 'certificate' "
            "AND course_id = 'VCA-2611' AND person_id = 'P002'"
        )
    refused = mark(switched_on, "P002", "failed")
    assert refused.returncode == 1
    assert "was being handed over by a run that was killed: it may have arrived" in refused.stderr
    assert "check the mail server's log (or the outbox)" in refused.stderr
    assert state_of(switched_on, "P002") == "unknown"  # settled, and now shown to the administrator
    assert cli("retry", "--state", "failed", "--reason", "y", cwd=switched_on).returncode == 0
    assert run_due(switched_on, now=LATER).returncode == 0
    assert "P002" not in cli("log", "--state", "pending", cwd=switched_on).stdout
    # having looked, the administrator decides: now it is an ordinary unknown to settle
    assert mark(switched_on, "P002", "sent").returncode == 0
    assert state_of(switched_on, "P002") == "sent"


@pytest.mark.parametrize("state", ["sent", "failed"])
def test_a_mistyped_action_id_is_a_usage_error_with_a_suggestion(
    switched_on: Path, state: str
) -> None:
    typo = cli(
        "mark", "certificat", "--course", "VCA-2611", "--person", "P001", "--as", state,
        "--reason", "x", cwd=switched_on,
    )  # fmt: skip
    assert typo.returncode == 2
    assert "no action 'certificat' in actions.yaml" in typo.stderr
    assert "did you mean 'certificate'?" in typo.stderr
    assert "problem" not in typo.stderr  # the file is not to blame
