"""Throughput to a local aiosmtpd server against bare smtplib loops over the same messages."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
from datetime import UTC, datetime

from bench.bench_run import _window_since, _writing_config, base_db, copy_db, switched_on
from bench.common import DATA, Result, interleaved, median, timed
from certify.config import load
from certify.context import DeliveryContexts, DeliveryRef
from certify.plan import make_plan
from certify.render import render_message
from certify.runner import Runner
from certify.store import Store
from certify.templates import Templates
from certify.transports import SmtpSettings, SmtpTransport, message_bytes

SERVER = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(repeat: int, deliveries: int = 2000) -> list[Result]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    try:
        config = load(
            _writing_config(DATA / "smtp", _window_since(base_db(), deliveries // 40 + 5))
        )
        now = datetime(2027, 1, 1, tzinfo=UTC)
        settings = SmtpSettings(
            "127.0.0.1", port, "none", None, None, 30.0, None, "office@example.org"
        )

        def subject() -> float:
            db = switched_on(copy_db("smtp.db"), config, now)
            store = Store.open(db)
            runner = Runner(store, config, Templates(config), now)
            report = None

            def go() -> None:
                nonlocal report
                report = runner.run(config.actions, SmtpTransport(settings), limit=deliveries)

            elapsed = timed(go)
            store.close()
            assert report is not None and report.sent == deliveries, report
            return deliveries / elapsed

        db = copy_db("smtp-floor.db")
        store = Store.open(db)
        templates = Templates(config)
        plan = make_plan(store, config, now)
        # the floor renders the same messages and sends them, with no bookkeeping at all
        contexts = []
        reader = DeliveryContexts(store.conn, config)
        for index, decision in enumerate(
            [d for d in plan.decisions if d.outcome == "send"][:deliveries]
        ):
            context = reader.read(decision, DeliveryRef(index, "x", f"<{index}@x>"), now)
            contexts.append((decision.action, context, f"<{index}@x>"))
        store.close()

        def rendered() -> list[tuple[str, bytes]]:
            result = []
            for action, context, message_id in contexts:
                message = render_message(
                    templates, action, context, message_id=message_id, sent_at=now
                )
                result.append((message["To"].addresses[0].addr_spec, message_bytes(message)))
            return result

        def floor_reuse() -> float:
            def go() -> None:
                with smtplib.SMTP("127.0.0.1", port) as smtp:
                    for recipient, data in rendered():
                        smtp.sendmail("office@example.org", [recipient], data)

            return deliveries / timed(go)

        def floor_per_message() -> float:
            def go() -> None:
                for recipient, data in rendered():
                    with smtplib.SMTP("127.0.0.1", port) as smtp:
                        smtp.sendmail("office@example.org", [recipient], data)

            return deliveries / timed(go)

        rates, floors = interleaved(subject, floor_reuse, repeat)
        per_message = median([floor_per_message() for _ in range(repeat)])
        s, f = median(rates), median(floors)
        # rates: higher is better, so the ratio reads subject/floor of messages per second
        return [
            Result(
                f"SMTP {deliveries} deliveries, one reused connection",
                s,
                f,
                "msg/s",
                ">= 0.7x floor rate",
                s / f >= 0.7,
                f"bare smtplib with a connection per message: {per_message:.0f} msg/s",
            ),
        ]
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
