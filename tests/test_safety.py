"""Ordinary mistakes hurt nobody: a broken template, one person's odd data, a killed run,
a command run by hand at the wrong moment. Nothing is lost, nothing is sent twice."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from certify.store.database import Store
from tests.helpers import (
    ROOT,
    cli,
    file_digest,
    import_into,
    make_config,
    proof_action,
    rows,
    run_due,
    states,
    write,
)

NOW = "2026-11-06T09:00"


@pytest.fixture
def both_due(tmp_path: Path, export: Callable[..., Path]) -> Path:
    """Both participants qualify for `certificate` and `proof` (conditions not checked)."""
    import_into(tmp_path / "certify.db", export())
    make_config(tmp_path, attendance="no", passing="no", extra_actions=proof_action())
    write(tmp_path / "templates", "proof.txt.j2", "---\nsubject: Proof\n---\nHello\n")
    return tmp_path


def test_a_template_error_holds_its_action_and_the_others_go_on(both_due: Path) -> None:
    write(
        both_due / "templates",
        "certificate.txt.j2",
        """
        ---
        subject: Certificate
        ---
        Dear {{ person.first_name }},
        you work at {{ person.extra.employer }}.
        """,
    )
    code, out, err = run_due(both_due, now=NOW)
    assert code == 1
    # located at the template's file and line, with the participant it failed on
    assert "certificate.txt.j2:5: person.extra has no column 'employer' for this participant" in err
    assert "participant C1/P" in err
    assert {
        s
        for (a, _), s in states(both_due / "certify.db", "action", "person_id").items()
        if a == "certificate"
    } == {"pending"}
    assert {
        s
        for (a, _), s in states(both_due / "certify.db", "action", "person_id").items()
        if a == "proof"
    } == {"sent"}
    assert rows(
        both_due / "certify.db", "SELECT count(*) FROM deliveries WHERE state = 'failed'"
    ) == [(0,)]
    assert "held back by a template problem 2" in out
    # fixing the template is all it takes
    write(
        both_due / "templates", "certificate.txt.j2", "---\nsubject: Certificate\n---\nDear you\n"
    )
    code, out, _ = run_due(both_due, now="2026-11-06T09:15")
    assert code == 0 and "sent 2," in out
    assert set(states(both_due / "certify.db", "action", "person_id").values()) == {"sent"}


def test_a_dry_run_shows_the_template_error_with_the_participant(both_due: Path) -> None:
    write(both_due / "templates", "certificate.txt.j2", "---\nsubject: x\n---\n{{ 1 / 0 }}\n")
    before = file_digest(both_due / "certify.db")
    result = cli("run-due", "--dry-run", "--now", NOW, cwd=both_due)
    assert result.returncode == 1
    assert "certificate.txt.j2:4: division by zero" in result.stderr
    assert "participant C1/P" in result.stderr
    assert file_digest(both_due / "certify.db") == before


def test_an_address_that_cannot_be_used_fails_only_that_delivery(both_due: Path) -> None:
    with sqlite3.connect(
        both_due / "certify.db"
    ) as conn:  # data from before addresses were checked
        conn.execute("UPDATE persons SET email = 'zoe at example' WHERE person_id = 'P2'")
    code, _, _ = run_due(both_due, now=NOW)
    assert code == 3
    by_person = states(both_due / "certify.db", "action", "person_id")
    assert by_person[("certificate", "P1")] == "sent" and by_person[("proof", "P1")] == "sent"
    assert by_person[("certificate", "P2")] == "failed"
    (reason,) = rows(
        both_due / "certify.db",
        "SELECT last_error FROM deliveries WHERE person_id = 'P2' AND action = 'certificate'",
    )[0]
    assert "not an e-mail address" in str(reason)


def test_a_language_that_is_no_language_gets_the_default(both_due: Path) -> None:
    write(
        both_due / "templates",
        "certificate.txt.j2",
        "---\nsubject: x\n---\n{{ course.end | date('d MMMM yyyy') }}\n",
    )
    with sqlite3.connect(both_due / "certify.db") as conn:
        conn.execute("UPDATE persons SET language = 'Nederlands' WHERE person_id = 'P1'")
        conn.execute("UPDATE persons SET language = 'en-GB' WHERE person_id = 'P2'")
    code, _, _ = run_due(both_due, now=NOW)
    assert code == 0
    outbox = both_due / "outbox"
    assert "5 november 2026" in (outbox / "certificate--C1--P1.eml").read_text()
    assert "5 November 2026" in (outbox / "certificate--C1--P2.eml").read_text()


def test_a_per_language_template_is_chosen_on_the_primary_subtag(both_due: Path) -> None:
    write(both_due / "templates", "certificate.en.txt.j2", "---\nsubject: Certificate\n---\nDear\n")
    write(both_due / "templates", "certificate.txt.j2", "---\nsubject: Certificaat\n---\nBeste\n")
    with sqlite3.connect(both_due / "certify.db") as conn:
        conn.execute("UPDATE persons SET language = 'en-GB' WHERE person_id = 'P2'")
        conn.execute("UPDATE persons SET language = 'xx' WHERE person_id = 'P1'")
    assert run_due(both_due, now=NOW).returncode == 0
    assert "Subject: Certificate\n" in (both_due / "outbox" / "certificate--C1--P2.eml").read_text()
    assert "Subject: Certificaat\n" in (both_due / "outbox" / "certificate--C1--P1.eml").read_text()


def test_quiet_prints_nothing_when_nothing_happened(both_due: Path) -> None:
    code, out, _ = run_due(both_due, "-q", now=NOW)
    assert code == 0 and "sent: Certificate C1/P1" in out
    code, out, err = run_due(both_due, "-q", now="2026-11-06T09:15")
    assert (code, out, err) == (0, "", "")
    code, out, _ = run_due(both_due, now="2026-11-06T09:15")
    assert code == 0 and out.startswith("sent 0,")


def test_every_summary_ends_with_what_needs_attention(both_due: Path) -> None:
    with sqlite3.connect(both_due / "certify.db") as conn:
        conn.execute("UPDATE persons SET email = 'nobody' WHERE person_id = 'P2'")
    assert run_due(both_due, now=NOW).returncode == 3
    _, out, _ = run_due(both_due, now="2026-11-06T09:15")
    assert out.splitlines()[-1] == "needs attention: 2 failed (certify log --state failed)"
    retried = cli("retry", "--state", "failed", "--reason", "address fixed", cwd=both_due)
    assert retried.returncode == 0 and "re-queued 2 failed" in retried.stdout
    with sqlite3.connect(both_due / "certify.db") as conn:
        conn.execute("UPDATE persons SET email = 'zoe@example.org' WHERE person_id = 'P2'")
    code, out, _ = run_due(both_due, now="2026-11-06T09:30")
    assert code == 0 and "needs attention" not in out and "sent 2," in out
    history = rows(
        both_due / "certify.db",
        "SELECT e.detail FROM delivery_events e JOIN deliveries d ON d.id = e.delivery_id "
        "WHERE d.person_id = 'P2' AND e.detail LIKE 'retry%'",
    )
    assert history == [("retry (was failed): address fixed",)] * 2


def test_retry_of_unknown_needs_force(both_due: Path) -> None:
    assert run_due(both_due, now=NOW).returncode == 0
    with sqlite3.connect(both_due / "certify.db") as conn:
        conn.execute("UPDATE deliveries SET state = 'unknown' WHERE person_id = 'P1'")
    before = file_digest(both_due / "certify.db")
    refused = cli("retry", "--state", "unknown", "--reason", "x", cwd=both_due)
    assert refused.returncode == 2 and "may have arrived" in refused.stderr
    assert file_digest(both_due / "certify.db") == before
    forced = cli(
        "retry", "--state", "unknown", "--reason", "not in the server log", "--force", cwd=both_due
    )
    assert forced.returncode == 0 and "re-queued 2 unknown" in forced.stdout


def test_send_by_hand_settles_a_killed_run_and_never_sends_twice(both_due: Path) -> None:
    assert run_due(both_due, "--action", "proof", now=NOW).returncode == 0
    # a run was killed while handing the certificate of P1 over: the log says `sending`
    with sqlite3.connect(both_due / "certify.db") as conn:
        conn.execute(
            "INSERT INTO deliveries (action, course_id, person_id, state, message_id, "
            "certificate_number, created_at, updated_at) VALUES ('certificate', 'C1', 'P1', "
            "'sending', '<m1@example.org>', '2026-000009-1', '2026-11-06T08:00:00Z', "
            "'2026-11-06T08:00:00Z')"
        )
    args = ("--course", "C1", "--person", "P1", "--now", NOW, "--transport", "smtp")
    env = {
        "CERTIFY_SMTP_HOST": "127.0.0.1",
        "CERTIFY_SMTP_PORT": "9",
        "CERTIFY_SMTP_SECURITY": "none",
    }
    refused = cli("send", "certificate", *args, cwd=both_due, env=env)
    assert refused.returncode == 1
    assert "recovered: certificate C1/P1: sending → unknown" in refused.stderr
    assert "already unknown" in refused.stderr and "certify mark certificate" in refused.stderr
    assert (
        states(both_due / "certify.db", "action", "person_id")[("certificate", "P1")] == "unknown"
    )
    # forced, against a server that cannot be reached: exit 3 and one line, no traceback
    forced = cli(
        "send", "certificate", *args, "--force", "--reason", "not in the log", cwd=both_due, env=env
    )
    assert forced.returncode == 3
    assert forced.stdout.startswith("pending: Certificate C1/P1: cannot connect to 127.0.0.1:9")
    assert (
        states(both_due / "certify.db", "action", "person_id")[("certificate", "P1")] == "pending"
    )


def test_mark_settles_a_killed_run_first(both_due: Path) -> None:
    assert run_due(both_due, "--action", "proof", now=NOW).returncode == 0
    with sqlite3.connect(both_due / "certify.db") as conn:
        conn.execute(
            "INSERT INTO deliveries (action, course_id, person_id, state, created_at, updated_at) "
            "VALUES ('certificate', 'C1', 'P2', 'claimed', '2026-11-06T08:00:00Z', "
            "'2026-11-06T08:00:00Z')"
        )
    result = cli(
        "mark", "proof", "--course", "C1", "--person", "P1", "--as", "sent", "--reason", "x",
        cwd=both_due,
    )  # fmt: skip
    assert result.returncode == 0 and "already sent; nothing changed" in result.stdout
    assert "certificate C1/P2: claimed → pending" in result.stderr
    assert (
        states(both_due / "certify.db", "action", "person_id")[("certificate", "P2")] == "pending"
    )


def test_writing_connections_commit_synchronously(tmp_path: Path) -> None:
    with Store.open(tmp_path / "c.db") as store:
        assert store.conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# -- no command ends in a traceback -----------------------------------------------------------

COMMANDS: list[tuple[str, ...]] = [
    ("import", "examples"),
    ("validate",),
    ("schema",),
    ("run-due", "--now", NOW),
    ("run-due", "--dry-run", "--now", NOW),
    ("run-due", "--now", NOW, "--transport", "smtp", "--smtp-host", "127.0.0.1",
     "--smtp-port", "9", "--smtp-security", "none"),
    ("explain", "--course", "VCA-2611", "--person", "P004", "--now", NOW),
    ("preview", "certificate", "--course", "VCA-2611", "--person", "P002", "--now", NOW),
    ("send", "certificate", "--course", "WEB-2611", "--person", "P019", "--now", NOW,
     "--transport", "smtp", "--smtp-host", "127.0.0.1", "--smtp-port", "9",
     "--smtp-security", "none"),
    ("mark", "certificate", "--course", "WEB-2611", "--person", "P019", "--as", "sent",
     "--reason", "x"),
    ("retry", "--state", "failed", "--reason", "x"),
    ("log",),
    ("status", "--now", NOW),
    ("report", "--out", "report.html", "--now", NOW),
    ("backup", "copy.db"),
]  # fmt: skip


@pytest.fixture
def shared_examples() -> Iterator[Path]:
    """The shipped examples, imported, in a folder anyone may read (for the read-only case)."""
    folder = Path(tempfile.mkdtemp(prefix="certify-"))
    folder.chmod(0o755)
    for name in ("examples", "templates"):
        shutil.copytree(ROOT / name, folder / name)
    shutil.copy(ROOT / "actions.yaml", folder / "actions.yaml")
    cli("import", "examples", "--now", "2026-11-01T08:00", cwd=folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    "trouble", ["missing database", "broken actions.yaml", "broken template", "none"]
)
def test_no_command_ends_in_a_traceback(shared_examples: Path, trouble: str) -> None:
    if trouble == "missing database":
        (shared_examples / "certify.db").unlink()
    if trouble == "broken actions.yaml":
        (shared_examples / "actions.yaml").write_text("version: 1\nactions: [\n")
    if trouble == "broken template":  # valid for the sample, fails for a real participant
        template = shared_examples / "templates" / "certificate.txt.j2"
        template.write_text(template.read_text() + "\n{{ person.extra.werkgever }}\n")
    for command in COMMANDS:
        if trouble == "missing database" and command[0] == "import":
            continue  # import creates the database
        result = cli(*command, cwd=shared_examples, catch=True)
        assert result.exception is None, f"certify {' '.join(command)}: {result.exception!r}"
        assert result.returncode in (0, 1, 2, 3), (command, result.returncode, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        if trouble == "broken template" and command[0] == "preview":
            assert result.returncode == 1
            assert "certificate.txt.j2:" in result.stderr
            assert "no column 'werkgever'" in result.stderr
            assert "(participant VCA-2611/P002)" in result.stderr
        locking = command[0] in ("mark", "retry") or "--transport" in command
        if trouble == "missing database" and locking:
            assert "certify.db: no such database" in result.stderr, (command, result.stderr)
    if trouble == "missing database":  # no stray lock file beside a database that is not there
        assert not (shared_examples / "certify.db.lock").exists()


def test_a_database_in_a_folder_that_is_not_there_names_the_folder(examples: Path) -> None:
    result = cli("import", "examples", "--db", "nowhere/certify.db", cwd=examples)
    assert result.returncode == 1
    assert "nowhere/certify.db: the database cannot be used" in result.stderr
    assert "the folder nowhere does not exist" in result.stderr
    assert not (examples / "nowhere").exists()


def test_a_read_only_database_is_one_line(shared_examples: Path) -> None:
    """As a user who may not write the database: every command says so in one line."""
    db = shared_examples / "certify.db"
    prefix: list[str] = []
    if os.geteuid() == 0:
        # root stays root but without the capabilities that override file modes, so the
        # database's own mode holds; the checkout may lie where no other user may read
        if shutil.which("setpriv") is None:
            pytest.skip("running as root and setpriv is not there to drop capabilities")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    db.chmod(0o444)
    outcomes = []
    for command in COMMANDS:
        process = subprocess.run(
            [*prefix, sys.executable, "-m", "certify", *command],
            cwd=shared_examples,
            capture_output=True,
            text=True,
            # coverage of these processes would write into folders the other user may not
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(("COV", "COVERAGE"))},
                "HOME": str(shared_examples),
            },
            timeout=60,
        )
        outcomes.append((command[0], process.returncode))
        assert "Traceback" not in process.stdout + process.stderr, (command, process.stderr)
        assert process.returncode in (0, 1, 2, 3), (command, process.returncode, process.stderr)
        if command[0] == "import":  # names the database and every file SQLite must write
            assert "certify.db: the database cannot be used" in process.stderr
            assert "-wal and -shm files" in process.stderr
    writing = dict(outcomes)
    assert writing["import"] == 1 and writing["retry"] == 1  # they say they cannot write


def test_a_quiet_run_says_a_warning_once_and_again_when_it_comes_back(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    """Cron mails what a quiet run prints: a setting that matches nothing is told at the
    first tick, not every 15 minutes after; a run that is not quiet always tells it."""
    import_into(tmp_path / "certify.db", export())
    make_config(tmp_path, status="finished")
    first = run_due(tmp_path, "-q", now=NOW)
    assert "warning: " in first.stderr and "'finished' matches no course" in first.stderr
    assert run_due(tmp_path, "-q", now="2026-11-06T09:15").stderr == ""
    loud = run_due(tmp_path, now="2026-11-06T09:30")
    assert "'finished' matches no course" in loud.stderr
    make_config(tmp_path, status="closed")
    other = run_due(tmp_path, "-q", now="2026-11-06T09:45")
    assert "'closed' matches no course" in other.stderr and "'finished'" not in other.stderr
    make_config(tmp_path, status="final")
    assert run_due(tmp_path, "-q", now="2026-11-06T10:00").stderr == ""
    make_config(tmp_path, status="finished")
    back = run_due(tmp_path, "-q", now="2026-11-06T10:15")
    assert "'finished' matches no course" in back.stderr
