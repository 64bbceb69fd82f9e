"""An SMTP server that accepts everything and counts: EHLO and HELO (one per connection of
smtplib) and messages. Run as its own process: `python bench/smtp_sink.py PORT`.

It prints `ready`, then answers each line on standard input: `stats` prints the counts as
JSON, `reset` sets them to zero; end of input stops it."""

from __future__ import annotations

import json
import sys
from typing import Any

from aiosmtpd.controller import Controller


class CountingSink:
    """aiosmtpd handler: accepts every message, counts greetings and messages."""

    def __init__(self) -> None:
        self.counts = {"ehlo": 0, "helo": 0, "messages": 0}

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.counts["ehlo"] += 1
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        self.counts["helo"] += 1
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.counts["messages"] += 1
        return "250 OK"


def main() -> None:
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "reset":
                for key in sink.counts:
                    sink.counts[key] = 0
            print(json.dumps(sink.counts), flush=True)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
