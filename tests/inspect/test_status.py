"""`certify status` for monitoring: the last run, what needs attention, and its exit code."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from certify.clock import from_utc_text
from certify.deliver.runs import RunRecord
from certify.errors import UsageError
from certify.inspect.status import parse_age, span
from tests.helpers import cli, import_into, make_config, run_due, write

NOW = "2026-11-06T09:00"


def status(two_due: Path, *extra: str, now: str) -> tuple[int, dict[str, object], str]:
    as_json = cli("status", "--now", now, "--json", *extra, cwd=two_due)
    text = cli("status", "--now", now, *extra, cwd=two_due)
    assert as_json.returncode == text.returncode
    return as_json.returncode, json.loads(as_json.stdout), text.stdout


def test_no_run_yet_fails_the_check(two_due: Path) -> None:
    code, report, text = status(two_due, now=NOW)
    assert code == 3 and report["ok"] is False
    assert report["reasons"] == ["no run-due has finished its work yet"]
    assert "NOT OK: no run-due has finished its work yet" in text


def test_a_recent_good_run_passes_and_an_old_one_fails(two_due: Path) -> None:
    assert run_due(two_due, now=NOW).returncode == 0
    code, report, text = status(two_due, now="2026-11-06T09:40")
    assert code == 0 and report["ok"] is True and text.splitlines()[-1] == "ok"
    last = report["last_run"]
    assert isinstance(last, dict) and last["outcome"] == "ok" and last["counts"]["sent"] == 2
    assert report["deliveries"] == {"sent": 2}
    code, report, _ = status(two_due, now="2026-11-06T10:01")
    assert code == 3
    assert report["reasons"] == [
        "the last successful run was 61 minutes ago (more than 1 hour): is cron still running?"
    ]
    assert status(two_due, "--max-age", "2h", now="2026-11-06T10:01")[0] == 0


def test_what_needs_attention_fails_the_check_until_settled(two_due: Path) -> None:
    with sqlite3.connect(two_due / "certify.db") as conn:
        conn.execute("UPDATE persons SET email = 'nobody' WHERE person_id = 'P2'")
    assert run_due(two_due, now=NOW).returncode == 3  # a delivery attempted in this run failed
    code, report, text = status(two_due, now="2026-11-06T09:10")
    assert code == 3
    assert report["needs_attention"] == {"failed": 1}
    assert report["last_run"]["outcome"] == "not accepted"  # type: ignore[index]
    assert "NOT OK: needs attention: 1 failed (certify log --state failed)" in text
    settled = cli(
        "mark", "certificate", "--course", "C1", "--person", "P2", "--as", "failed",
        "--reason", "no address for this person", cwd=two_due,
    )  # fmt: skip
    assert settled.returncode == 0
    retried = cli("retry", "--state", "failed", "--person", "P2", "--reason", "fixed", cwd=two_due)
    assert retried.returncode == 0
    with sqlite3.connect(two_due / "certify.db") as conn:
        conn.execute("UPDATE persons SET email = 'zoe@example.org' WHERE person_id = 'P2'")
    assert run_due(two_due, now="2026-11-06T09:15").returncode == 0
    assert status(two_due, now="2026-11-06T09:20")[0] == 0


def test_a_run_stopped_by_a_template_problem_fails_the_check(two_due: Path) -> None:
    write(two_due / "templates", "certificate.txt.j2", "---\nsubject: x\n---\n{{ 1 / 0 }}\n")
    assert run_due(two_due, now=NOW).returncode == 1
    code, report, _ = status(two_due, now="2026-11-06T09:05")
    assert code == 3
    last = report["last_run"]
    assert isinstance(last, dict) and last["outcome"] == "problems"
    assert any("division by zero" in str(reason) for reason in report["reasons"])  # type: ignore[attr-defined]


def test_a_run_that_could_not_start_is_recorded(two_due: Path) -> None:
    (two_due / "outbox").write_text("a file where the outbox folder should be")
    assert run_due(two_due, now=NOW).returncode == 1
    _, report, _ = status(two_due, now="2026-11-06T09:05")
    last = report["last_run"]
    assert isinstance(last, dict) and last["outcome"] == "failed"
    assert "outbox" in str(last["detail"])


def test_a_run_that_never_finished_is_shown(two_due: Path) -> None:
    assert run_due(two_due, now=NOW).returncode == 0
    with sqlite3.connect(two_due / "certify.db") as conn:  # as a run killed with SIGKILL leaves it
        conn.execute(
            "INSERT INTO runs (started_at, now, outcome) "
            "VALUES ('2026-11-06T08:10:00Z', '2026-11-06T08:10:00Z', 'running')"
        )
    code, report, text = status(two_due, now="2026-11-06T09:20")
    assert code == 0  # the last successful run is recent: cron works
    assert report["last_run"]["finished_at"] is None  # type: ignore[index]
    assert "still running (or killed)" in text


def test_durations_are_read_as_people_write_them() -> None:
    assert parse_age("90 minutes") == timedelta(minutes=90)
    assert parse_age("2h") == parse_age("2 hours") == timedelta(hours=2)
    assert parse_age("1 day") == timedelta(days=1)
    with pytest.raises(UsageError, match="cannot read 'soon'"):
        parse_age("soon")
    assert [span(timedelta(minutes=m)) for m in (1, 45, 60, 90, 180, 1440, 4320)] == [
        "1 minute", "45 minutes", "1 hour", "90 minutes", "3 hours", "1 day", "3 days",
    ]  # fmt: skip


def test_a_missing_database_is_one_line(tmp_path: Path) -> None:
    result = cli("status", "--db", str(tmp_path / "none.db"), cwd=tmp_path)
    assert result.returncode == 1 and "no such database" in result.stderr


UNREACHABLE = ("--transport", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", "9",
               "--smtp-security", "none")  # fmt: skip


@pytest.fixture
def three(tmp_path: Path, export: Callable[..., Path]) -> Path:
    """Three participants due at the course's end, 5 November 17:00."""
    persons = "person_id,first_name,last_name,email\nP1,Bram,Berg,bram@example.org\n"
    persons += "P2,Zoë,Öztürk,zoe@example.org\nP3,Anouk,Smit,anouk@example.org\n"
    enrollments = "course_id,person_id\nC1,P1\nC1,P2\nC1,P3\n"
    import_into(tmp_path / "certify.db", export(persons=persons, enrollments=enrollments))
    make_config(tmp_path, attendance="no", passing="no")
    return tmp_path


def test_a_run_the_mail_server_refused_fails_the_check_at_once(three: Path) -> None:
    """The user's report: `ok` a minute after a run that stopped on connection failures."""
    assert (
        run_due(three, now="2026-11-05T16:45").returncode == 0
    )  # nothing due yet: a successful run
    refused = cli("run-due", "--now", "2026-11-05T17:00", *UNREACHABLE, cwd=three)
    assert refused.returncode == 3 and "stopped after 3 connection failures" in refused.stderr
    code, report, text = status(three, now="2026-11-05T17:01")
    # the last good run is only 16 minutes old, yet the server refuses everything now
    assert code == 3 and report["ok"] is False
    stopped = (
        "stopped after 3 connection failures in a row; the rest stays pending for the next run"
    )
    assert report["reasons"] == [f"the last run (1 minute ago): {stopped}"]
    last = report["last_run"]
    assert isinstance(last, dict)
    assert last["successful"] is False and last["stopped_early"] is True
    assert last["summary"] == stopped
    assert report["last_run_successful"] is False
    assert report["successful_run_within_max_age"] is True
    assert f"last run: 2026-11-05 17:00 CET (1 minute ago): {stopped}" in text
    assert "last successful run: 2026-11-05 16:45 CET (16 minutes ago)" in text
    assert f"NOT OK: the last run (1 minute ago): {stopped}" in text
    # the next run finds every delivery waiting out its back-off: it did its work, exit 0
    assert run_due(three, now="2026-11-05T17:03").returncode == 0
    code, report, text = status(three, now="2026-11-05T17:04")
    assert code == 0 and text.splitlines()[-1] == "ok"
    assert "last successful run" not in text  # the last run is the successful one
    assert report["deliveries"] == {"pending": 3}


def test_with_no_successful_run_the_check_says_none(three: Path) -> None:
    assert cli("run-due", "--now", "2026-11-05T17:00", *UNREACHABLE, cwd=three).returncode == 3
    code, report, text = status(three, now="2026-11-05T17:01")
    assert code == 3
    assert report["last_successful_run"] is None
    assert report["successful_run_within_max_age"] is False
    assert report["reasons"][1:] == ["no run-due has succeeded yet (none exited 0)"]  # type: ignore[index]
    assert "last successful run: none" in text


def test_a_run_that_could_not_reach_the_mail_server_is_not_a_successful_one(two_due: Path) -> None:
    # two connection failures: the run went on to the end, but reached no server
    assert cli("run-due", "--now", NOW, *UNREACHABLE, cwd=two_due).returncode == 3
    code, report, text = status(two_due, now="2026-11-06T09:05")
    assert code == 3 and report["needs_attention"] == {}
    assert report["reasons"][0] == (  # type: ignore[index]
        "the last run (5 minutes ago): the mail server could not be reached for 2 deliveries "
        "(pending 2)"
    )
    assert "last successful run: none" in text


def test_max_age_help_shows_its_default_once() -> None:
    text = cli("status", "--help", env={"COLUMNS": "100"}).stdout
    assert text.count("[default: 1 hour]") == 1


@pytest.mark.parametrize(
    ("outcome", "counts", "detail", "successful"),
    [
        ("ok", {"sent": 0}, None, True),  # nothing due, or only back-offs waited out
        ("not accepted", {"sent": 40, "pending": 1}, None, True),  # one recipient greylisted
        ("not accepted", {"sent": 40, "failed": 1}, None, True),  # the attention list says it
        ("not accepted", {"sent": 0, "pending": 1}, None, True),  # the only one greylisted
        ("not accepted", {"sent": 0, "pending": 2, "unreachable": 2}, None, False),
        ("not accepted", {"sent": 9, "pending": 1, "unreachable": 1}, None, False),
        ("not accepted", {"sent": 3, "pending": 3}, "stopped after 3 connection failures", False),
        ("problems", {"sent": 5}, "templates/certificate.txt.j2:3: undefined", False),
        ("failed", {}, "outbox: permission denied", False),
    ],
)
def test_a_successful_run_did_its_work_and_the_server_took_messages(
    outcome: str, counts: dict[str, int], detail: str | None, successful: bool
) -> None:
    moment = from_utc_text("2026-11-06T09:00:00Z")
    run = RunRecord(1, moment, moment, moment, outcome, 0, counts, detail)
    assert run.successful is successful
