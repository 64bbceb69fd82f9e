"""The CLI on the shipped examples: in process for output and exit codes, as a real
process where the lock, concurrency and cron matter."""

import fcntl
import importlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import typer.main

from certify.cli import app
from certify.cli.app import emit_json
from certify.cli.jsontext import JSONText
from certify.clock import parse_moment
from tests.helpers import AMS, DEMO_NOW, SWITCH_ON, TO_OUTBOX, cli, file_digest, run_cli


def test_every_command_and_option_has_help() -> None:
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert {"import", "validate", "run-due", "explain", "preview", "send", "log"} <= set(commands)
    for name, command in commands.items():
        assert command.help, f"{name} has no help"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"{name} {param.opts} has no help"


def test_the_commands_that_send_offer_the_same_transport_options() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]

    def transport_options(name: str) -> list[tuple[str, ...]]:
        return [
            (*param.opts, str(param.envvar), param.help)
            for param in commands[name].params
            if param.opts[0] in ("--transport", "--out") or param.opts[0].startswith("--smtp-")
        ]

    offered = transport_options("run-due")
    assert [option[0] for option in offered] == [
        "--transport", "--out", "--smtp-host", "--smtp-port", "--smtp-security", "--smtp-user",
        "--smtp-ca-file",
    ]  # fmt: skip
    assert ("--smtp-host", "CERTIFY_SMTP_HOST", "SMTP server.") in offered
    assert transport_options("send") == offered


def test_the_smtp_variables_reach_send(examples: Path) -> None:
    _imported(examples)
    env = {
        "CERTIFY_SMTP_HOST": "127.0.0.1",
        "CERTIFY_SMTP_PORT": "1",
        "CERTIFY_SMTP_SECURITY": "none",
    }
    result = cli(
        "send", "certificate", "--course", "VCA-2611", "--person", "P001", "--transport", "smtp",
        "--now", DEMO_NOW, cwd=examples, env=env,
    )  # fmt: skip
    assert "127.0.0.1:1" in result.stderr + result.stdout, result.stderr


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.startswith("certify ")  # the real entry point
    result = cli("--help")
    assert result.returncode == 0 and "run-due" in result.stdout
    assert cli("-h").returncode == 0


def _imported(examples: Path) -> Path:
    result = cli("import", "examples", "--now", "2026-11-01T08:00", cwd=examples)
    assert result.returncode == 0, result.stderr
    assert "enrollments: 32 inserted" in result.stdout
    return examples / "certify.db"


def test_the_examples_from_import_to_sent(examples: Path) -> None:
    _imported(examples)
    assert cli("validate", cwd=examples).returncode == 0
    switch_on = cli(
        "run-due",
        "--now",
        SWITCH_ON,
        "--transport",
        "dir",
        "--out",
        "outbox",
        "--json",
        cwd=examples,
    )
    assert switch_on.returncode == 0, switch_on.stderr
    # the March 2025 course: history, not mailed (a VCA course: the certificate only)
    assert json.loads(switch_on.stdout)["skipped"] == 5
    dry = cli("run-due", "--dry-run", "--now", DEMO_NOW, "--json", cwd=examples)
    would = {(d["action"], d["person"]) for d in json.loads(dry.stdout)["deliveries"]}
    result = cli(
        "run-due",
        "--now",
        DEMO_NOW,
        "--transport",
        "dir",
        "--out",
        "outbox",
        "--json",
        cwd=examples,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    got = {(d["action"], d["person"]) for d in report["deliveries"] if d["state"] == "sent"}
    assert got == would
    certificates = {p for a, p in got if a == "certificate"}
    proofs = {p for a, p in got if a == "proof-of-participation"}
    # the certificate is linked to the exam types (VCA, BHV), the proof to the others
    assert certificates == {"P001", "P002", "P003", "P008"}  # P002: exactly 75 %
    assert "P004" not in certificates  # 2 of 4 = 50 %: just below
    assert not {"P005", "P006"} & (certificates | proofs)  # failed / no result: waits
    assert "P007" not in certificates  # cancelled enrollment
    assert {"P010", "P011"} <= proofs  # 2 of 3 = 66.67 -> 67 %
    assert "P012" not in proofs  # 1 of 3 = 33 %
    assert {"P019", "P020", "P021", "P022", "P023"} <= proofs  # no requirements at all
    assert not {"P024", "P025"} & certificates  # course not yet final
    assert not {"P015", "P017"} & proofs  # course ends later today: not yet due
    assert not certificates & proofs  # nobody gets both
    outbox = sorted(p.name for p in (examples / "outbox").iterdir())
    assert len(outbox) == len(got) and not any(n.startswith(".tmp") for n in outbox)
    from email import message_from_bytes, policy
    from io import BytesIO

    from pypdf import PdfReader

    eml = (examples / "outbox" / "certificate--VCA-2611--P002.eml").read_bytes()
    certificate = message_from_bytes(eml, policy=policy.default)
    (pdf,) = list(certificate.iter_attachments())
    assert pdf.get_filename() == "Certificaat - VCA Basis veiligheid - Zoë Öztürk.pdf"
    text = PdfReader(BytesIO(pdf.get_payload(decode=True))).pages[0].extract_text()
    assert "Zoë Öztürk" in text and "12 november 2026" in text
    log = json.loads(cli("log", "--json", "--state", "sent", cwd=examples).stdout)
    assert len(log) == len(got)
    assert {
        "action",
        "course",
        "person",
        "email",
        "state",
        "attempts",
        "last_error",
        "sent_at",
        "message_id",
    } <= set(log[0])
    numbers = {row["certificate_number"] for row in log if row["person"] == "P002"}
    assert any(number and number in text for number in numbers)


def test_explain_says_why(examples: Path) -> None:
    _imported(examples)
    result = cli(
        "explain", "--course", "VCA-2611", "--person", "P004", "--now", DEMO_NOW, cwd=examples
    )
    assert result.returncode == 0, result.stderr
    assert "present 2 of 4 required parts (50 %), needs 75 % = 3: NOT MET" in result.stdout, (
        result.stdout
    )
    # before any sending run, switching on now would treat this course as history
    assert "skipped: due before the action's `since`" in result.stdout or "skipped" in result.stdout
    cli("run-due", "--now", SWITCH_ON, "--transport", "dir", "--out", "outbox", cwd=examples)
    data = json.loads(
        cli(
            "explain",
            "--course",
            "VCA-2611",
            "--person",
            "P005",
            "--now",
            DEMO_NOW,
            "--json",
            cwd=examples,
        ).stdout
    )
    by_action = {a["action"]: a for a in data["actions"]}
    cert = by_action["certificate"]
    assert cert["conditions"]["pass"] == {
        "check": "yes",
        "passed": 0,
        "required_parts": 1,
        "met": False,
    }
    assert cert["conditions"]["attendance"]["met"] is True
    assert cert["conditions"]["course_status"]["ok"] is True
    assert (
        cert["due_at"] == "2026-11-13T08:00:00Z"
    )  # 1 day after 12 Nov, at 09:00: the next morning
    assert "pass: failed 1 of 1" in cert["waiting_on"]
    proof = by_action["proof-of-participation"]  # VCA is an exam type: not linked to the proof
    assert proof["state"] == "not_linked"
    assert proof["conditions"]["course_type"] == {
        "value": "VCA",
        "linked_types": ["WORKSHOP", "KICKOFF", "WEBINAR"],
        "linked": False,
    }


def test_preview_renders_without_sending(examples: Path) -> None:
    db = _imported(examples)
    before = file_digest(db)
    result = cli(
        "preview",
        "certificate",
        "--course",
        "VCA-2611",
        "--person",
        "P002",
        "--now",
        DEMO_NOW,
        cwd=examples,
    )
    assert result.returncode == 0, result.stderr
    assert "Subject: Certificaat VCA Basis veiligheid" in result.stdout
    # the message's own line endings (CRLF) read as lines, not as escaped control characters
    assert "Beste Zoë,\n" in result.stdout and "\\x0d" not in result.stdout
    assert file_digest(db) == before


def test_send_force_needs_a_reason_and_resends_with_an_audit_trail(examples: Path) -> None:
    _imported(examples)
    args = (
        "--course",
        "WEB-2611",
        "--person",
        "P019",
        "--now",
        DEMO_NOW,
        "--transport",
        "dir",
        "--out",
        "outbox",
    )
    first = cli("send", "proof-of-participation", *args, cwd=examples)
    assert first.returncode == 0, first.stderr
    again = cli("send", "proof-of-participation", *args, cwd=examples)
    assert again.returncode == 1 and "already sent" in again.stderr and "--force" in again.stderr
    assert cli("send", "proof-of-participation", *args, "--force", cwd=examples).returncode == 2
    forced = cli(
        "send",
        "proof-of-participation",
        *args,
        "--force",
        "--reason",
        "address corrected",
        cwd=examples,
    )
    assert forced.returncode == 0, forced.stderr
    explained = cli(
        "explain", "--course", "WEB-2611", "--person", "P019", "--now", DEMO_NOW, cwd=examples
    )
    assert "forced (address corrected (Message-ID" in explained.stdout


def test_send_refuses_when_conditions_do_not_hold(examples: Path) -> None:
    _imported(examples)
    result = cli(
        "send",
        "certificate",
        "--course",
        "VCA-2611",
        "--person",
        "P004",
        "--now",
        DEMO_NOW,
        "--transport",
        "dir",
        "--out",
        "outbox",
        cwd=examples,
    )
    assert result.returncode == 1 and "attendance: present 2 of 4, needs 3" in result.stderr


def test_no_transport_is_no_silent_default(examples: Path) -> None:
    _imported(examples)
    result = cli("run-due", "--now", DEMO_NOW, cwd=examples)
    assert result.returncode == 1
    assert "no transport chosen" in result.stderr and "--transport" in result.stderr


def test_usage_and_input_errors_have_their_exit_codes(examples: Path) -> None:
    assert cli("run-due", "--now", "gisteren", "--dry-run", cwd=examples).returncode == 2
    assert cli("run-due", "--bogus", cwd=examples).returncode == 2
    missing = cli("run-due", "--dry-run", cwd=examples)
    assert missing.returncode == 1 and "no such database" in missing.stderr
    (examples / "examples" / "courses.csv").write_text(
        "course_id,name,status,end\nX,Y,final,31-02-2026\n"
    )
    bad = cli("import", "examples", cwd=examples)
    assert bad.returncode == 1
    assert "courses.csv:2: column 'end': cannot read '31-02-2026' as a date" in bad.stderr
    assert not (examples / "certify.db").exists()  # a failed first import leaves no database


def test_failed_import_leaves_the_database_unchanged(examples: Path) -> None:
    db = _imported(examples)
    before = file_digest(db)
    (examples / "examples" / "persons.csv").write_text("person_id;email\nP001;not an address\n")
    result = cli("import", "examples", cwd=examples)
    assert result.returncode == 1 and "persons.csv:2: column 'email'" in result.stderr
    assert file_digest(db) == before


def test_validate_exits_1_with_located_lines(examples: Path) -> None:
    actions = examples / "actions.yaml"
    actions.write_text(actions.read_text().replace("unit: days", "unit: fortnights", 1))
    result = cli("validate", "--json", cwd=examples)
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems and problems[0].startswith("actions.yaml:") and "fortnights" in problems[0]


def test_schema_is_json_schema() -> None:
    schema = json.loads(cli("schema").stdout)
    assert "actions" in schema["properties"] and schema["additionalProperties"] is False


def test_a_held_lock_exits_75(examples: Path) -> None:
    _imported(examples)
    with (examples / "certify.db.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = run_cli(
            "run-due",
            "--now",
            DEMO_NOW,
            "--transport",
            "dir",
            "--out",
            "outbox",
            "--wait",
            "0.2",
            cwd=examples,
        )
    assert result.returncode == 75, result.stderr
    assert not (examples / "outbox").exists()


def test_four_simultaneous_runs_write_each_delivery_once(examples: Path) -> None:
    db = _imported(examples)
    cli("run-due", "--now", SWITCH_ON, "--transport", "dir", "--out", "outbox", cwd=examples)
    command = [
        sys.executable,
        "-m",
        "certify",
        "run-due",
        "--now",
        DEMO_NOW,
        "--transport",
        "dir",
        "--out",
        "outbox",
        "--json",
        "--wait",
        "60",
    ]
    processes = [
        subprocess.Popen(
            command, cwd=examples, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    reports = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        reports.append(json.loads(stdout))
    sent = [(d["action"], d["course"], d["person"]) for r in reports for d in r["deliveries"]]
    assert len(sent) == len(set(sent)) > 0
    with sqlite3.connect(db) as conn:
        events = conn.execute(
            "SELECT count(*) FROM delivery_events WHERE state = 'sent'"
        ).fetchone()[0]
    assert events == len(sent)
    assert len(list((examples / "outbox").iterdir())) == len(sent)


def test_cron_output_is_plain_lines(examples: Path) -> None:
    _imported(examples)
    cli("run-due", "--now", SWITCH_ON, "--transport", "dir", "--out", "outbox", cwd=examples)
    result = run_cli(
        "run-due", "--now", DEMO_NOW, "--transport", "dir", "--out", "outbox", cwd=examples,
        env={"TZ": "Asia/Tokyo"},  # the machine's zone is not the one people read
    )  # fmt: skip
    lines = result.stdout.splitlines()
    (zoe,) = [
        line
        for line in lines
        if line.endswith(" sent: Certificate VCA-2611/P002 Zoë Öztürk <zoe.ozturk@example.nl>")
    ]
    assert "┏" not in result.stdout and "\x1b[" not in result.stdout
    # stamped with the real clock, in actions.yaml's zone, with its offset: 2026-11-30
    # 07:15:08+01:00, which sorts and says which hour it was when autumn repeats one
    stamp = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d) sent: ", zoe)
    assert stamp is not None, zoe
    written = datetime.fromisoformat(stamp.group(1))
    assert abs(written - datetime.now(UTC)) < timedelta(minutes=2)
    assert written.utcoffset() == written.astimezone(ZoneInfo("Europe/Amsterdam")).utcoffset()


@pytest.mark.parametrize(
    ("option", "wrong", "listed"),
    [("--transport", "smpt", ("'dir'", "'smtp'")),
     ("--smtp-security", "tls", ("'starttls'", "'ssl'", "'none'"))],
)  # fmt: skip
def test_a_transport_or_security_mode_not_offered_is_a_usage_error(
    examples: Path, option: str, wrong: str, listed: tuple[str, ...]
) -> None:
    _imported(examples)
    result = cli("run-due", "--now", DEMO_NOW, option, wrong, cwd=examples)
    assert result.returncode == 2 and option in result.stderr and repr(wrong) in result.stderr
    assert all(value in result.stderr for value in listed), result.stderr
    assert not (examples / "outbox").exists()
    # the values themselves, in any case
    sent = cli(
        "run-due", "--now", DEMO_NOW, "--transport", "DIR", "--out", "outbox",
        "--smtp-security", "SSL", cwd=examples,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr


def _helps() -> dict[str, str]:
    """Every command's --help, as an 80-column terminal shows it."""
    group = typer.main.get_command(app)
    names = ["", *group.commands]  # type: ignore[attr-defined]
    shown = {}
    for name in names:
        result = cli(*([name] if name else []), "--help", env={"COLUMNS": "80"})
        assert result.returncode == 0, name
        shown[name] = result.stdout
    return shown


def test_help_reads_as_words_in_80_columns() -> None:
    helps = _helps()
    for name, text in helps.items():
        assert all(len(line) <= 80 for line in text.splitlines()), (name, text)
        for python in ("list[", "range>", "<int>", "<float>", "<path>", "{"):
            assert python not in text, (name, python, text)
    assert "import [OPTIONS] PATH...\n" in helps["import"]
    assert "\n  PATH...  Export files (CSV or .xlsx)" in helps["import"]
    assert "backup [OPTIONS] FILE\n" in helps["backup"]
    run_due = helps["run-due"]
    for shown in ("--limit N ", "--wait SECONDS ", "--now TIME ", "--action ID ", "--db FILE ",
                  "--transport [dir|smtp] ", "--smtp-security MODE "):  # fmt: skip
        assert shown in run_due, shown
    assert "--max-remove PCT " in helps["import"] and "--days N " in helps["report"]


def test_the_moments_help_offers_are_read_as_it_says() -> None:
    """--now's help: `2026-11-19 09:00 or 19-11-2026 09:00, local time ... (with Z or +01:00
    after it: exactly that moment); a date alone is 00:00 that day`."""
    text = " ".join(_helps()["run-due"].split())
    assert "2026-11-19 09:00 or 19-11-2026 09:00, local time" in text
    local = parse_moment("2026-11-19 09:00", AMS)
    assert parse_moment("19-11-2026 09:00", AMS) == local
    assert local == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)  # Amsterdam is UTC+1 then
    assert parse_moment("2026-11-19 09:00Z", AMS) == datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
    assert parse_moment("2026-11-19 09:00+01:00", AMS) == local
    assert parse_moment("2026-11-19", AMS) == parse_moment("2026-11-19 00:00", AMS)


def test_json_for_a_script_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Python indents JSON only in its slow pure-Python encoder: for a script (not a
    terminal) every document is one line, read alike; asked for, it is indented."""
    small = {"would_send": 1, "deliveries": [{"person": "P1"}]}
    emit_json(small)
    assert capsys.readouterr().out == json.dumps(small, ensure_ascii=False) + "\n"
    large = {"deliveries": [{"person": f"P{n}", "state": "would send"} for n in range(40_000)]}
    emit_json(large)
    written = capsys.readouterr().out
    assert written.count("\n") == 1 and json.loads(written) == large
    emit_json(small, indent=True)
    assert capsys.readouterr().out == json.dumps(small, indent=2) + "\n"


def test_json_text_in_a_document_is_written_as_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A value that is JSON text already (a dry run's 200,000 deliveries) is written in its
    place, the document exactly as if it had been encoded with the rest."""
    deliveries = [{"person": 'P"1', "due_at": None}, {"person": "Zoë\n"}]
    text = json.dumps(deliveries, ensure_ascii=False)

    def pieces() -> JSONText:
        return JSONText(iter([text[:7], text[7:20], text[20:]]))

    for shape in (
        {"sent": 1, "deliveries": text, "needs_attention": None, "forgotten": 0},
        {"deliveries": text, "sent": 1},
        {"sent": 1, "deliveries": text},
        {"deliveries": text, "again": "[]"},
        {"deliveries": text},
    ):
        decoded = {k: json.loads(v) if v in (text, "[]") else v for k, v in shape.items()}
        document = {
            k: pieces() if v == text else JSONText(["[]"]) if v == "[]" else v
            for k, v in shape.items()
        }
        emit_json(document)
        assert capsys.readouterr().out == json.dumps(decoded, ensure_ascii=False) + "\n"
        document = {
            k: pieces() if v == text else JSONText(["[]"]) if v == "[]" else v
            for k, v in shape.items()
        }
        emit_json(document, indent=True)
        assert capsys.readouterr().out == json.dumps(decoded, indent=2, ensure_ascii=False) + "\n"


def test_json_at_a_terminal_is_always_indented(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `certify.cli.app` is also the name of the Typer app the package exports
    monkeypatch.setattr(importlib.import_module("certify.cli.app"), "interactive", lambda: True)
    large = {"deliveries": [{"person": f"P{n}"} for n in range(60_000)]}
    emit_json(large)
    assert capsys.readouterr().out == json.dumps(large, indent=2) + "\n"


def test_a_reader_that_goes_away_does_not_stop_the_run(switched_on: Path) -> None:
    """`certify run-due | head -1`: the run goes on sending and recording, unread."""
    examples = switched_on
    process = subprocess.Popen(
        [sys.executable, "-m", "certify", "run-due", "--now", DEMO_NOW, *TO_OUTBOX],
        cwd=examples,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # every line written as it is printed
    )
    assert process.stdout is not None and process.stderr is not None
    assert " sent: " in process.stdout.readline()
    process.stdout.close()  # as `head -1` does once it has its line
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 0, errors
    assert "Broken pipe" not in errors and "Traceback" not in errors
    with sqlite3.connect(examples / "certify.db") as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state"))
    assert "claimed" not in states and "sending" not in states
    assert states["sent"] == len(list((examples / "outbox").glob("*.eml"))) > 1
    assert _with_nobody_reading(["log"], examples) == 0


def _with_nobody_reading(args: list[str], cwd: Path) -> int:
    """The exit code of `certify ARGS` whose stdout and stderr nobody reads: a pipe whose
    reading end is closed before the first line is written."""
    reading, writing = os.pipe()
    os.close(reading)
    try:
        process = subprocess.run(
            [sys.executable, "-m", "certify", *args], cwd=cwd, stdout=writing, stderr=writing,
            timeout=60,
        )  # fmt: skip
    finally:
        os.close(writing)
    return process.returncode


def test_a_run_whose_output_nobody_reads_keeps_its_exit_code(switched_on: Path) -> None:
    """A run that cannot reach its mail server exits 3 also when its problems go unread."""
    unreachable = ["--transport", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", "9",
                   "--smtp-security", "none"]  # fmt: skip
    assert _with_nobody_reading(["run-due", "--now", DEMO_NOW, *unreachable], switched_on) == 3
    assert _with_nobody_reading(["run-due", "--now", DEMO_NOW, *TO_OUTBOX], switched_on) == 0
    with sqlite3.connect(switched_on / "certify.db") as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state"))
    assert states.get("sent", 0) > 1 and "claimed" not in states and "sending" not in states


def _described(group: Any, prefix: str = "") -> list[tuple[str, str, list[list[str]]]]:
    """Each command of a group (and of its groups): name, help and options, in order."""
    found = []
    for name, command in group.commands.items():
        found.append((prefix + name, command.help or "", [param.opts for param in command.params]))
        if hasattr(command, "commands"):
            found += _described(command, f"{prefix}{name} ")
    return found


def test_the_command_line_builds_each_command_as_typer_would() -> None:
    """A run builds only the command it names; built, each is the command Typer builds."""
    lazy = app.lazy_group()
    assert lazy.get_command(None, "run-due") is lazy.commands["run-due"]  # type: ignore[arg-type]
    assert _described(lazy) == _described(typer.main.get_command(app))


def test_help_as_a_real_process_lists_every_command() -> None:
    shown = run_cli("--help", env={"COLUMNS": "200", "CERTIFY_LANG": "en"})
    assert shown.returncode == 0, shown.stderr
    listed = re.findall(r"^  ([a-z-]+) {2,}\S", shown.stdout.split("Commands:", 1)[1], re.M)
    assert listed == list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    unknown = run_cli("run-de")
    assert unknown.returncode == 2
    assert "Did you mean 'run-due'?" in unknown.stderr


def test_a_cron_tick_with_nothing_due_loads_no_code_for_sending_or_showing(
    examples: Path,
) -> None:
    """Cron starts certify every few minutes: with nothing due it reads the configuration
    and the database, and loads neither SMTP, TLS, templates, messages nor terminal output."""
    _imported(examples)
    switch_on = cli("run-due", "-q", "--now", SWITCH_ON, *TO_OUTBOX, cwd=examples)
    assert switch_on.returncode == 0, switch_on.stderr
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(' '.join(sys.modules), file=sys.stderr))\n"
        "from certify.cli import main\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CERTIFY_DB"} | {"CERTIFY_LANG": "en"}
    tick = subprocess.run(
        [sys.executable, "-c", probe, "run-due", "-q", "--now", "2026-11-10T08:05", *TO_OUTBOX],
        cwd=examples,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tick.returncode == 0, tick.stderr
    assert tick.stdout == ""
    loaded = set(tick.stderr.split())
    assert "certify.deliver.runner" in loaded  # the probe saw the run
    unneeded = {"smtplib", "ssl", "jinja2", "rich", "reportlab", "certify.render.message"}
    assert not loaded & unneeded
