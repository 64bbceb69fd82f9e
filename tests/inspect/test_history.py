"""`certify log` as a new user meets it: a typo in a filter is an error rather than an empty
log, nothing found says so, and the table stays readable in an 80-column terminal."""

from __future__ import annotations

import importlib
import json
import sqlite3
from pathlib import Path

import pytest

from certify.deliver.state import FINAL, IN_MOTION, DeliveryState
from tests.helpers import DEMO_NOW, Ran, cli

NOW = DEMO_NOW
REJECTED = (
    "550 5.1.1 <tim.vermeulen@example.nl>: Recipient address rejected: User unknown in "
    "virtual mailbox table"
)


def log(demo_sent: Path, *args: str) -> Ran:
    return cli("log", *args, cwd=demo_sent)


def at_a_terminal(
    demo_sent: Path, monkeypatch: pytest.MonkeyPatch, columns: int, *args: str
) -> str:
    """What `certify log` shows in a terminal `columns` wide (Rich reads COLUMNS)."""
    insight = importlib.import_module("certify.cli.insight")
    monkeypatch.setattr(insight, "interactive", lambda: True)
    result = cli("log", *args, cwd=demo_sent, env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_named_sets_and_skipped_cover_every_state() -> None:
    assert set(DeliveryState) == {*FINAL, *IN_MOTION, DeliveryState.SKIPPED}


def test_an_unknown_state_is_a_usage_error_that_lists_every_state(demo_sent: Path) -> None:
    result = log(demo_sent, "--state", "bogus")
    assert result.returncode == 2 and result.stdout == ""
    for state in DeliveryState:
        assert repr(state.value) in result.stderr
    sent = json.loads(log(demo_sent, "--state", "SENT", "--json").stdout)  # case aside
    assert sent and {row["state"] for row in sent} == {"sent"}


def test_an_unknown_action_is_a_usage_error_that_lists_the_known_ones(demo_sent: Path) -> None:
    result = log(demo_sent, "--action", "nope")
    assert result.returncode == 2 and result.stdout == ""
    assert "unknown action 'nope' (known: certificate, proof-of-participation)" in result.stderr
    typo = log(demo_sent, "--action", "certifcate")
    assert typo.returncode == 2 and "did you mean 'certificate'?" in typo.stderr


def test_actions_are_known_from_the_log_when_actions_yaml_cannot_be_read(demo_sent: Path) -> None:
    (demo_sent / "actions.yaml").write_text("version: 1\nactions: [\n")
    assert json.loads(log(demo_sent, "--action", "certificate", "--json").stdout)
    result = log(demo_sent, "--action", "nope")
    assert result.returncode == 2
    assert "(known: certificate, proof-of-participation)" in result.stderr


def test_an_unknown_course_is_named(demo_sent: Path) -> None:
    result = log(demo_sent, "--course", "NOPE")
    assert result.returncode == 1 and result.stdout == ""
    assert "--course: no course 'NOPE' in the database" in result.stderr
    assert "hint: give a course_id as the courses export has it" in result.stderr
    typo = log(demo_sent, "--course", "VCA-2612")
    assert typo.returncode == 1 and "did you mean 'VCA-2611'?" in typo.stderr


def test_nothing_found_says_so_once(demo_sent: Path) -> None:
    # a course and an action that exist, with nothing logged for them
    for args in (("--course", "BHV-2611"), ("--action", "certificate", "--state", "failed")):
        result = log(demo_sent, *args)
        assert (result.returncode, result.stdout, result.stderr) == (
            0,
            "",
            "no deliveries match\n",
        ), args
        as_json = log(demo_sent, *args, "--json")
        assert (as_json.returncode, as_json.stdout, as_json.stderr) == (0, "[]\n", "")


def test_a_log_with_nothing_in_it_says_so(examples: Path) -> None:
    cli("import", "examples", "--now", "2026-11-01T08:00", cwd=examples)
    result = cli("log", cwd=examples)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "no deliveries yet\n")


def test_plain_lines_leave_out_an_address_there_is_not(demo_sent: Path) -> None:
    lines = log(
        demo_sent, "--course", "VCA-2503"
    ).stdout.splitlines()  # history: skipped, no address
    assert lines and "skipped  Certificate VCA-2503/P001 attempts=0" in lines
    assert not any("<>" in line for line in lines)
    sent = log(demo_sent, "--person", "P002").stdout.splitlines()
    assert any(
        "Certificate VCA-2611/P002 <zoe.ozturk@example.nl> attempts=1 2026-11-20 10:00 CET" in line
        for line in sent
    )


def test_the_json_names_the_person(demo_sent: Path) -> None:
    (row,) = json.loads(log(demo_sent, "--person", "P002", "--course", "VCA-2611", "--json").stdout)
    assert row["name"] == "Zoë Öztürk" and row["email"] == "zoe.ozturk@example.nl"


def test_in_80_columns_course_sent_time_and_certificate_number_stay_whole(
    demo_sent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = at_a_terminal(demo_sent, monkeypatch, 80)
    lines = shown.splitlines()
    assert all(len(line) <= 80 for line in lines), shown
    assert "…" not in shown
    rows = json.loads(log(demo_sent, "--json").stdout)
    for row in rows:
        assert row["course"] in shown and row["person"] in shown
        if row["certificate_number"]:
            assert row["certificate_number"] in shown
    # the sent time on one line, next to the course and the number it belongs to
    (zoe,) = [i for i, line in enumerate(lines) if "P002 Zoë Öztürk" in line]
    assert "VCA-2611" in lines[zoe] and "2026-000007" in lines[zoe]
    assert "Certificate" in lines[zoe + 1] and "zoe.ozturk@example.nl" in lines[zoe + 1]
    assert "2026-11-20 10:00" in lines[zoe + 1]
    # a long action name breaks at its spaces, not in a word
    assert "Participant" in shown and "participation" in shown


def test_a_wide_terminal_shows_a_line_a_delivery(
    demo_sent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = at_a_terminal(demo_sent, monkeypatch, 200, "--person", "P002")
    (line,) = [line for line in shown.splitlines() if "P002" in line]
    for part in ("VCA-2611", "Certificate", "Zoë Öztürk", "zoe.ozturk@example.nl", "sent",
                 "2026-11-20 10:00", "2026-000007"):  # fmt: skip
        assert part in line, line


def test_an_error_folds_under_the_state_and_attempts_are_counted(
    demo_sent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sqlite3.connect(demo_sent / "certify.db") as conn:
        conn.execute(
            "UPDATE deliveries SET state = 'failed', attempts = 8, last_error = ? "
            "WHERE person_id = 'P021'",
            (REJECTED,),
        )
        # a server's words in brackets are data, not styles for the terminal
        conn.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 2, "
            "last_error = '451 4.3.0 [internal error] try again' WHERE person_id = 'P022'"
        )
    narrow = at_a_terminal(demo_sent, monkeypatch, 80, "--course", "WEB-2611")
    assert all(len(line) <= 80 for line in narrow.splitlines()), narrow
    assert "8 attempts" in narrow and "2 attempts" in narrow
    words = " ".join(narrow.split())  # an error folds over lines, at its spaces
    assert "[internal" in words and "error] try again" in words
    for word in ("Recipient", "address", "rejected:", "virtual", "mailbox", "table"):
        assert word in words
    wide = at_a_terminal(demo_sent, monkeypatch, 200, "--course", "WEB-2611")
    (failed,) = [line for line in wide.splitlines() if "P021" in line]
    assert "failed, 8 attempts" in failed and "550 5.1.1" in failed
    assert "[internal error]" in wide
