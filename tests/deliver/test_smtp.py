"""SMTP delivery against a real aiosmtpd server on 127.0.0.1, with faults injected."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as Server
from aiosmtpd.smtp import AuthResult, Envelope, Session

from certify.deliver.transports import ConnectionFailure, SmtpSettings, SmtpTransport
from tests.helpers import Ran, cli, import_into, make_config

pytestmark = pytest.mark.slow
NOW = "2026-11-06T09:00"


class Recorder:
    """A sink that keeps what it received; `refuse` and `after_data` inject faults."""

    def __init__(
        self,
        refuse: dict[str, str] | None = None,
        after_data: str | None = None,
        drop_after_data: bool = False,
        rcpt_delay: float = 0.0,
    ) -> None:
        self.refuse = refuse or {}
        self.after_data = after_data
        self.drop_after_data = drop_after_data
        self.rcpt_delay = rcpt_delay
        self.messages: list[Envelope] = []
        self.greetings = 0  # EHLO/HELO seen: one per connection

    async def handle_EHLO(
        self,
        server: Server,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname  # what aiosmtpd's own EHLO would have done
        return responses

    async def handle_RCPT(
        self,
        server: Server,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        for fragment, reply in self.refuse.items():
            if fragment in address:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        if self.drop_after_data:
            server.transport.close()
        return self.after_data or "250 OK"

    def parsed(self) -> list[Any]:
        return [
            message_from_bytes(e.original_content or b"", policy=policy.default)
            for e in self.messages
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(handler: Recorder, **options: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def smtp_world(tmp_path: Path, export: Callable[..., Path]) -> Path:
    """Two participants who both qualify (conditions not checked), actions with an smtp section."""
    import_into(tmp_path / "certify.db", export())
    make_config(tmp_path, attendance="no", passing="no", top="smtp: {timeout: 2}\n")
    return tmp_path


def run_due(
    smtp_world: Path,
    port: int,
    *extra: str,
    security: str = "none",
    env: dict[str, str] | None = None,
    now: str = NOW,
) -> Ran:
    """run-due against the test server, in this process (the server runs in a thread)."""
    return cli(
        "run-due",
        "--now",
        now,
        "--transport",
        "smtp",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--smtp-security",
        security,
        "--json",
        *extra,
        cwd=smtp_world,
        env=env,
    )


def run_due_command(port: int, *extra: str) -> list[str]:
    """The command line of run-due against the test server, for runs started in parallel."""
    return [
        sys.executable,
        "-m",
        "certify",
        "run-due",
        "--now",
        NOW,
        "--transport",
        "smtp",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--smtp-security",
        "none",
        *extra,
    ]


def wait_for_claim(smtp_world: Path, seconds: float = 30) -> None:
    """Until a run has claimed a delivery (and so is past start-up, with its handlers set)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if {"claimed", "sending"} & {s for s, _, _ in progress(smtp_world).values()}:
            return
        time.sleep(0.02)
    raise AssertionError("no delivery was claimed in time")


def progress(smtp_world: Path) -> dict[str, tuple[str, int, str | None]]:
    with sqlite3.connect(smtp_world / "certify.db") as conn:
        return {
            p: (s, a, e)
            for p, s, a, e in conn.execute(
                "SELECT person_id, state, attempts, last_error FROM deliveries"
            )
        }


def test_sends_each_once_over_one_connection(smtp_world: Path) -> None:
    handler = Recorder()
    with smtp_server(handler) as port:
        result = run_due(smtp_world, port)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["sent"] == 2
        again = run_due(smtp_world, port)
    assert json.loads(again.stdout)["sent"] == 0
    assert sorted(e.rcpt_tos[0] for e in handler.messages) == [
        "bram@example.org",
        "zoe@example.org",
    ]
    message = next(m for m in handler.parsed() if "zoe" in str(m["To"]))
    assert message["To"].addresses[0].display_name == "Zoë Öztürk"
    assert message["X-Certify-Person"] == "P2"


def test_451_for_one_recipient_is_retried_later_with_the_same_message_id(smtp_world: Path) -> None:
    refusing = Recorder(refuse={"zoe": "451 4.7.1 Try again later"})
    with smtp_server(refusing) as port:
        result = run_due(smtp_world, port)
    assert result.returncode == 3
    assert progress(smtp_world)["P1"][0] == "sent"
    state, attempts, error = progress(smtp_world)["P2"]
    assert (state, attempts) == ("pending", 1) and error and "451" in error
    with sqlite3.connect(smtp_world / "certify.db") as conn:
        first_id, next_at = conn.execute(
            "SELECT message_id, next_attempt_at FROM deliveries WHERE person_id = 'P2'"
        ).fetchone()
    assert next_at == "2026-11-06T08:05:00Z"  # 5 minutes after the run
    accepting = Recorder()
    with smtp_server(accepting) as port:
        too_soon = run_due(smtp_world, port, now="2026-11-06T09:04")
        assert json.loads(too_soon.stdout)["sent"] == 0
        later = run_due(smtp_world, port, now="2026-11-06T09:05")
    assert later.returncode == 0 and json.loads(later.stdout)["sent"] == 1
    assert [m["Message-ID"] for m in accepting.parsed()] == [first_id]


def test_550_fails_at_once_and_is_never_retried(smtp_world: Path) -> None:
    with smtp_server(Recorder(refuse={"zoe": "550 5.1.1 No such user"})) as port:
        assert run_due(smtp_world, port).returncode == 3
    state, attempts, error = progress(smtp_world)["P2"]
    assert (state, attempts) == ("failed", 1) and error and "550" in error
    handler = Recorder()
    with smtp_server(handler) as port:
        assert json.loads(run_due(smtp_world, port, now="2026-11-08T09:00").stdout)["sent"] == 0
    assert handler.messages == []


def test_554_after_the_data_fails(smtp_world: Path) -> None:
    with smtp_server(Recorder(after_data="554 5.6.0 Content rejected")) as port:
        assert run_due(smtp_world, port).returncode == 3
    assert {s for s, _, _ in progress(smtp_world).values()} == {"failed"}


def test_connection_refused_keeps_deliveries_pending_with_the_error(smtp_world: Path) -> None:
    port = free_port()  # nobody listens
    result = run_due(smtp_world, port)
    assert result.returncode == 3
    for state, attempts, error in progress(smtp_world).values():
        assert (state, attempts) == ("pending", 1) and error and "connection refused" in error
    with smtp_server(Recorder()) as live:
        assert json.loads(run_due(smtp_world, live, now="2026-11-06T09:05").stdout)["sent"] == 2


@pytest.fixture
def six_due(tmp_path: Path, export: Callable[..., Path]) -> Path:
    """Six participants of C1 who all qualify (conditions not checked), over SMTP."""
    people = "".join(f"P{i},p{i}@example.org\n" for i in range(1, 7))
    import_into(
        tmp_path / "certify.db",
        export(
            persons="person_id,email\n" + people,
            enrollments="course_id,person_id\n" + "".join(f"C1,P{i}\n" for i in range(1, 7)),
            attendance="part_id,person_id,present\n",
            results="part_id,person_id,passed\n",
        ),
    )
    make_config(tmp_path, attendance="no", passing="no", top="smtp: {timeout: 2}\n")
    return tmp_path


def test_three_connection_failures_in_a_row_stop_the_run(six_due: Path) -> None:
    result = run_due(six_due, free_port())
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert report["pending"] == 3 and "3 connection failures" in report["stopped"]
    # the other three were claimed with the first three but never tried: their attempts unspent
    untried = [row for row in progress(six_due).values() if row[1] == 0]
    assert len(untried) == 3 and all(row == ("pending", 0, None) for row in untried)


def test_three_unknown_outcomes_in_a_row_stop_the_run(six_due: Path) -> None:
    dropping = Recorder(drop_after_data=True)
    with smtp_server(dropping) as port:
        result = run_due(six_due, port)
    assert result.returncode == 3, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["unknown"] == 3 and "3 messages in a row" in report["stopped"]
    assert len(dropping.messages) == 3  # the other three were not offered to a silent server
    # the other three, claimed with them, were handed back untried
    assert sorted(s for s, _, _ in progress(six_due).values()) == ["pending"] * 3 + ["unknown"] * 3


def test_nothing_due_opens_no_connection_and_back_off_alone_is_no_failure(smtp_world: Path) -> None:
    handler = Recorder(refuse={"zoe": "451 4.7.1 Try again later"})
    with smtp_server(handler) as port:
        assert run_due(smtp_world, port).returncode == 3  # attempted in this run, not accepted
        assert handler.greetings == 1
        # two minutes later: the pending one waits out its back-off; nothing is attempted
        waiting = run_due(smtp_world, port, now="2026-11-06T09:02")
        assert waiting.returncode == 0, waiting.stdout
        assert json.loads(waiting.stdout)["retry_later"] == 1
        assert handler.greetings == 1  # no connection was opened
    assert len(handler.messages) == 1


def test_a_server_that_never_greets_times_out(smtp_world: Path) -> None:
    actions = smtp_world / "actions.yaml"
    actions.write_text(actions.read_text().replace("timeout: 2", "timeout: 0.5"))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    try:
        started = time.monotonic()
        result = run_due(smtp_world, port)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert result.returncode == 3 and "timed out" in (result.stdout + result.stderr)
    assert elapsed < 10  # each step waits the configured 0.5 s, never forever
    assert {s for s, _, _ in progress(smtp_world).values()} == {"pending"}


def test_silence_after_the_data_is_unknown_and_not_resent(smtp_world: Path) -> None:
    dropping = Recorder(drop_after_data=True)
    with smtp_server(dropping) as port:
        result = run_due(smtp_world, port)
    assert result.returncode == 3
    assert {s for s, _, _ in progress(smtp_world).values()} <= {"unknown"}
    assert "unknown" in {s for s, _, _ in progress(smtp_world).values()}
    handler = Recorder()
    with smtp_server(handler) as port:
        run_due(smtp_world, port, now="2026-11-07T09:00")
    unknown = [p for p, (s, _, _) in progress(smtp_world).items() if s == "unknown"]
    assert len(handler.messages) == 2 - len(unknown)  # the unknown ones are not resent
    log = json.loads(cli("log", "--json", "--state", "unknown", cwd=smtp_world).stdout)
    assert {row["person"] for row in log} == set(unknown)
    settled = cli(
        "mark",
        "certificate",
        "--course",
        "C1",
        "--person",
        unknown[0],
        "--as",
        "sent",
        "--reason",
        "found in the mail server log",
        cwd=smtp_world,
    )
    assert settled.returncode == 0 and progress(smtp_world)[unknown[0]][0] == "sent"


def test_authentication_refused_stops_before_anything_is_claimed(smtp_world: Path) -> None:
    def refuse(
        server: Server, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        return AuthResult(success=False, handled=False)

    with smtp_server(Recorder(), authenticator=refuse, auth_require_tls=False) as port:
        result = run_due(
            smtp_world, port, "--smtp-user", "certify", env={"CERTIFY_SMTP_PASSWORD": "wrong"}
        )
    assert result.returncode == 1
    assert "refused the login" in result.stderr and "CERTIFY_SMTP_PASSWORD" in result.stderr
    assert "wrong" not in result.stderr + result.stdout
    assert not progress(smtp_world)


def test_starttls_not_offered_is_never_plain_text(smtp_world: Path) -> None:
    handler = Recorder()
    with smtp_server(handler) as port:
        result = run_due(smtp_world, port, security="starttls")
    assert result.returncode == 1 and "does not offer STARTTLS" in result.stderr
    assert handler.messages == [] and not progress(smtp_world)


def test_self_signed_certificate_refused_unless_its_ca_is_given(
    smtp_world: Path, tmp_path: Path
) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    handler = Recorder()
    with smtp_server(handler, tls_context=server_context) as port:
        refused = run_due(smtp_world, port, security="starttls")
        assert refused.returncode == 1 and "not trusted" in refused.stderr
        accepted = run_due(smtp_world, port, "--smtp-ca-file", str(ca_file), security="starttls")
    assert accepted.returncode == 0, accepted.stderr
    assert len(handler.messages) == 2


def test_killed_after_the_claim_is_sent_exactly_once_by_the_next_run(smtp_world: Path) -> None:
    slow = Recorder(rcpt_delay=3.0)
    with smtp_server(slow) as port:
        command = run_due_command(port, "--limit", "1")
        process = subprocess.Popen(
            command, cwd=smtp_world, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        wait_for_claim(smtp_world)
        process.kill()
        process.wait()
    assert "claimed" in {s for s, _, _ in progress(smtp_world).values()}
    handler = Recorder()
    with smtp_server(handler) as port:
        result = run_due(smtp_world, port)
        assert result.returncode == 0, result.stderr
        assert json.loads(run_due(smtp_world, port).stdout)["sent"] == 0
    assert sorted(e.rcpt_tos[0] for e in handler.messages) == [
        "bram@example.org",
        "zoe@example.org",
    ]
    assert {s for s, _, _ in progress(smtp_world).values()} == {"sent"}


def test_four_overlapping_runs_send_each_delivery_once(smtp_world: Path) -> None:
    handler = Recorder(rcpt_delay=0.1)
    with smtp_server(handler) as port:
        command = run_due_command(port, "--wait", "60")
        processes = [
            subprocess.Popen(
                command, cwd=smtp_world, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(4)
        ]
        for process in processes:
            process.wait(timeout=120)
            assert process.returncode == 0
    assert sorted(e.rcpt_tos[0] for e in handler.messages) == [
        "bram@example.org",
        "zoe@example.org",
    ]


def test_header_injection_and_non_ascii_end_to_end(
    smtp_world: Path, export: Callable[..., Path]
) -> None:
    import_into(
        smtp_world / "certify.db",
        export(
            "evil",
            persons=(
                "person_id,first_name,last_name,full_name,email\n"
                'P1,Eve,X,"Eve\nBcc: victim@evil.example",bram@example.org\n'
                "P2,Zoë,Öztürk,Zoë Öztürk,zoe@bücher.example\n"
            ),
        ),
    )
    handler = Recorder()
    with smtp_server(handler) as port:
        result = run_due(smtp_world, port)
    assert result.returncode == 0, result.stderr
    assert sorted(e.rcpt_tos[0] for e in handler.messages) == [
        "bram@example.org",
        "zoe@xn--bcher-kva.example",
    ]
    for envelope in handler.messages:
        head = (envelope.original_content or b"").split(b"\r\n\r\n")[0]
        assert b"\r\nBcc:" not in head and head.isascii()


def test_non_ascii_local_part_needs_smtputf8(smtp_world: Path, export: Callable[..., Path]) -> None:
    import_into(
        smtp_world / "certify.db",
        export(
            "utf8",
            persons=(
                "person_id,first_name,last_name,email\nP1,Bram,Berg,bram@example.org\nP2,Zoë,Öztürk,zoë@example.org\n"
            ),
        ),
    )
    handler = Recorder()
    with smtp_server(handler, enable_SMTPUTF8=False) as port:
        result = run_due(smtp_world, port)
    assert result.returncode == 3
    state, _, error = progress(smtp_world)["P2"]
    assert state == "failed" and error and "SMTPUTF8" in error
    assert [e.rcpt_tos[0] for e in handler.messages] == ["bram@example.org"]


def test_sigterm_finishes_the_message_in_hand(smtp_world: Path) -> None:
    slow = Recorder(rcpt_delay=1.5)
    with smtp_server(slow) as port:
        command = run_due_command(port)
        process = subprocess.Popen(
            command, cwd=smtp_world, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        wait_for_claim(smtp_world)  # the first message is in hand (its RCPT is slow)
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 3
    assert len(slow.messages) == 1
    # the message in hand was finished; the other, claimed with it, was handed back untried
    assert sorted((s, a) for s, a, _ in progress(smtp_world).values()) == [
        ("pending", 0),
        ("sent", 1),
    ]


def test_the_certificate_pdf_survives_the_smtp_path(smtp_world: Path) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    actions = smtp_world / "actions.yaml"
    actions.write_text(
        actions.read_text().replace(
            "    conditions:", "    attachments: [{template: certificate}]\n    conditions:", 1
        )
    )
    (smtp_world / "templates" / "certificate.pdf.yaml").write_text(
        'lines: [{text: "[Persoon:NaamVolledig]"}, {text: "[Opleiding:Naam]"}]\n'
        'footer: "[Certificaat:Nummer]"\n'
    )
    handler = Recorder()
    with smtp_server(handler) as port:
        assert run_due(smtp_world, port).returncode == 0
    message = next(m for m in handler.parsed() if "zoe" in str(m["To"]))
    (attachment,) = list(message.iter_attachments())
    # no filename: written, so the default name, in her language: actions.yaml's locale (nl)
    assert attachment.get_filename() == "Certificaat - Display training - Zoë Öztürk.pdf"
    text = PdfReader(BytesIO(attachment.get_payload(decode=True))).pages[0].extract_text()
    with sqlite3.connect(smtp_world / "certify.db") as conn:
        number = conn.execute(
            "SELECT certificate_number FROM deliveries WHERE person_id = 'P2'"
        ).fetchone()[0]
    assert "Zoë Öztürk" in text and "Display training" in text and number in text


def test_implicit_tls_with_the_servers_ca(smtp_world: Path, tmp_path: Path) -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    handler = Recorder()
    with smtp_server(handler, ssl_context=server_context) as port:
        result = run_due(smtp_world, port, "--smtp-ca-file", str(ca_file), security="ssl")
    assert result.returncode == 0, result.stderr
    assert len(handler.messages) == 2


def _minutes_later(minutes: int) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(NOW) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def test_temporary_failures_give_up_after_8_attempts(smtp_world: Path) -> None:
    refusing = Recorder(refuse={"": "451 4.3.0 Try again later"})
    # each retry exactly when it is allowed: 5 minutes, doubling
    schedule = [0, 5, 15, 35, 75, 155, 315, 635]
    with smtp_server(refusing) as port:
        for attempt, minutes in enumerate(schedule, start=1):
            run_due(smtp_world, port, now=_minutes_later(minutes))
            state, attempts, _ = progress(smtp_world)["P1"]
            assert attempts == attempt
            assert state == ("failed" if attempt == 8 else "pending")
        run_due(smtp_world, port, now=_minutes_later(5000))
    assert progress(smtp_world)["P1"][1] == 8  # never tried again


def test_temporary_failures_give_up_after_72_hours(smtp_world: Path) -> None:
    refusing = Recorder(refuse={"": "451 4.3.0 Try again later"})
    with smtp_server(refusing) as port:
        for day in range(3):
            run_due(smtp_world, port, now=_minutes_later(day * 25 * 60))
            assert progress(smtp_world)["P1"][0] == "pending"
        run_due(smtp_world, port, now=_minutes_later(75 * 60))  # 75 hours after the first attempt
    state, attempts, error = progress(smtp_world)["P1"]
    assert (state, attempts) == ("failed", 4) and error and "gave up" in error


class Hangup(Recorder):
    """Accepts a message, then closes the connection right after its reply."""

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        # runs right after the reply is written: the client finds the connection gone
        asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 OK"


def test_reconnects_within_one_run(smtp_world: Path, export: Callable[..., Path]) -> None:
    people = "".join(f"P{i},p{i}@example.org\n" for i in range(1, 5))
    import_into(
        smtp_world / "certify.db",
        export(
            "more",
            persons="person_id,email\n" + people,
            enrollments="course_id,person_id\n" + "".join(f"C1,P{i}\n" for i in range(1, 5)),
        ),
    )
    handler = Hangup()
    with smtp_server(handler) as port:
        result = run_due(smtp_world, port)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sent"] == 4
    assert len(handler.messages) == 4  # each once, over a new connection after each hang-up


def test_bcc_is_an_envelope_recipient_only(smtp_world: Path) -> None:
    template = smtp_world / "templates" / "certificate.txt.j2"
    template.write_text(
        template.read_text().replace("---\nDear", "bcc: archive@example.org\n---\nDear", 1)
    )
    handler = Recorder()
    with smtp_server(handler) as port:
        assert run_due(smtp_world, port).returncode == 0
    for envelope in handler.messages:
        assert "archive@example.org" in envelope.rcpt_tos
        assert b"archive@example.org" not in (envelope.original_content or b"")


class Garbled(Recorder):
    """Takes the whole message, then answers without a reply code (or cuts the code short)."""

    def __init__(self, answer: str, close: bool = False, at: str = "data") -> None:
        super().__init__()
        self.answer, self.close, self.at = answer, close, at

    async def handle_RCPT(
        self,
        server: Server,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.at == "rcpt" and not self.messages and self.greetings == 1:
            if self.close:
                asyncio.get_running_loop().call_soon(server.transport.close)
            return self.answer
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: Server, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        if self.at != "data":
            return "250 OK"
        if self.close:
            asyncio.get_running_loop().call_soon(server.transport.close)
        return self.answer


@pytest.mark.parametrize(("answer", "close"), [("OK queued as 4711", False), ("25", True)])
def test_an_answer_without_a_code_after_the_data_is_unknown_and_never_resent(
    smtp_world: Path, answer: str, close: bool
) -> None:
    with smtp_server(Garbled(answer, close)) as port:
        assert run_due(smtp_world, port).returncode == 3
    assert "unknown" in {s for s, _, _ in progress(smtp_world).values()}
    assert {s for s, _, _ in progress(smtp_world).values()} <= {"unknown", "pending"}
    again = Recorder()
    with smtp_server(again) as port:
        run_due(smtp_world, port, now="2026-11-06T09:05")
    unknown = {p for p, (s, _, _) in progress(smtp_world).items() if s == "unknown"}
    received = {str(m["X-Certify-Person"]) for m in again.parsed()}
    assert not unknown & received  # an ambiguous hand-over is never sent again by itself


def test_a_code_cut_short_before_the_data_is_retried_not_failed(smtp_world: Path) -> None:
    with smtp_server(Garbled("25", close=True, at="rcpt")) as port:
        result = run_due(smtp_world, port)
    report = json.loads(result.stdout)
    assert report["failed"] == 0 and report["sent"] == 2  # reconnected, and sent
    assert {s for s, _, _ in progress(smtp_world).values()} == {"sent"}


# a server that cannot be reached: the reason in words, with the host, port and setting


def _settings(host: str, port: int, timeout: float = 2) -> SmtpSettings:
    return SmtpSettings(
        host=host,
        port=port,
        security="none",
        user=None,
        password=None,
        timeout=timeout,
        ca_file=None,
        sender="training@example.org",
    )


def _why_not(settings: SmtpSettings) -> str:
    transport = SmtpTransport(settings)
    with pytest.raises(ConnectionFailure) as failure:  # temporary: retried, as before
        transport.open()
    return failure.value.reason


def test_a_host_name_that_is_not_known_says_so_and_which_setting_to_check() -> None:
    try:
        socket.getaddrinfo("smtp.invalid", 587)
    except socket.gaierror as exc:
        if exc.errno != socket.EAI_NONAME:
            pytest.skip(f"this machine cannot look names up at all ({exc})")
    assert _why_not(_settings("smtp.invalid", 587)) == (
        "cannot connect to smtp.invalid:587: the name is not known (check --smtp-host or smtp.host)"
    )


def test_a_port_nobody_listens_on_says_so() -> None:
    port = free_port()
    assert _why_not(_settings("127.0.0.1", port)) == (
        f"cannot connect to 127.0.0.1:{port}: connection refused: nothing listens on that port "
        "(check --smtp-port or smtp.port, and that the mail server runs)"
    )


def test_a_server_that_never_greets_is_a_timeout_with_its_seconds() -> None:
    with socket.socket() as silent:  # the kernel accepts; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        assert _why_not(_settings("127.0.0.1", port, timeout=0.3)) == (
            f"cannot connect to 127.0.0.1:{port}: timed out: no answer within 0.3 s (a firewall, or not "
            "the mail server's host and port? check --smtp-host/--smtp-port or "
            "smtp.host/smtp.port)"
        )


def test_run_due_names_the_unknown_mail_server(smtp_world: Path) -> None:
    result = cli(
        "run-due",
        "--now",
        NOW,
        "--transport",
        "smtp",
        "--smtp-host",
        "smtp.invalid",
        "--smtp-security",
        "none",
        cwd=smtp_world,
    )
    assert result.returncode == 3
    said = result.stdout + result.stderr
    # "the name is not known", or, on a machine whose resolver cannot be reached, that the
    # name could not be looked up: either way the host, the port and the setting to check
    assert "cannot connect to smtp.invalid:587: " in said and "--smtp-host" in said
    assert "Errno" not in said


@pytest.mark.parametrize(
    ("errno", "said"),
    [
        (socket.EAI_NONAME, "the name is not known (check --smtp-host or smtp.host)"),
        (socket.EAI_AGAIN, "the name cannot be looked up now (check --smtp-host or smtp.host"),
        (socket.EAI_FAIL, "the name cannot be looked up (no answer; check --smtp-host"),
    ],
)
def test_every_name_lookup_failure_points_at_the_host_setting(errno: int, said: str) -> None:
    from certify.deliver.transports import _unreachable

    assert _unreachable(socket.gaierror(errno, "no answer"), _settings("mail", 25)).startswith(said)
