"""2,000 messages to a local aiosmtpd server (its own process, counting connections and
messages): certify run-due against a bare smtplib loop over one connection, and against
mailmerge, which opens a connection per message and keeps no log."""

from __future__ import annotations

import atexit
import csv
import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

from bench.bench_run import base_db, run_due
from bench.common import (
    DATA,
    ROOT,
    Broken,
    Proc,
    Result,
    Side,
    broken_result,
    copy_db,
    floor_db,
    floors,
    measure,
    median,
    python,
    ratio_result,
)

MAILMERGE_TEMPLATE = """TO: {{email}}
SUBJECT: Certificate {{course}} - {{full_name}}
FROM: Training office <training@example.org>

Dear {{first_name}},

Congratulations on completing {{course}} on {{end}}.
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """The counting server (bench/smtp_sink.py) in its own process, until this one exits."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server = subprocess.Popen(
            python(ROOT / "bench" / "smtp_sink.py", str(self.port)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.server.stdout is not None
        if self.server.stdout.readline().strip() != "ready":
            raise Broken("the SMTP sink did not start (is aiosmtpd installed?)")
        atexit.register(self.stop)

    def ask(self, command: str) -> dict[str, int]:
        """`reset` or `stats`: the counts (after the reset)."""
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(command + "\n")
        self.server.stdin.flush()
        counts: dict[str, int] = json.loads(self.server.stdout.readline())
        return counts

    def stop(self) -> None:
        if self.server.stdin and not self.server.stdin.closed:
            self.server.stdin.close()
            self.server.wait(timeout=30)


@cache
def sink() -> SmtpSink:
    """One server for every SMTP measure of this run (and for --profile afterwards)."""
    return SmtpSink()


def mailmerge_inputs(folder: Path, port: int, deliveries: int) -> list[str]:
    """mailmerge's three files for the floor's first `deliveries` participants; its options."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mailmerge_template.txt").write_text(MAILMERGE_TEMPLATE)
    (folder / "mailmerge_server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nsecurity = Never\nratelimit = 0\n"
    )
    with sqlite3.connect(floor_db()) as conn:
        rows = conn.execute(
            """SELECT p.email, p.first_name, p.infix, p.last_name, c.name, c."end"
               FROM enrollments e JOIN courses c USING (course_id) JOIN persons p USING (person_id)
               LIMIT ?""",
            (deliveries,),
        ).fetchall()
    conn.close()
    with (folder / "mailmerge_database.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "first_name", "full_name", "course", "end"])
        for address, first, infix, last, course, end in rows:
            full = " ".join(x for x in (first, infix, last) if x)
            writer.writerow([address, first, full, course, end])
    return [
        "--no-dry-run",
        "--no-limit",
        "--template",
        str(folder / "mailmerge_template.txt"),
        "--database",
        str(folder / "mailmerge_database.csv"),
        "--config",
        str(folder / "mailmerge_server.conf"),
    ]


def run(repeat: int, deliveries: int = 2000) -> list[Result]:
    mailmerge = Path(sys.executable).parent / "mailmerge"
    server = sink()
    connections: dict[str, list[int]] = {}

    def counted(label: str, command: Callable[[], list[str]]) -> Side:
        def fresh() -> list[str]:
            line = command()
            server.ask("reset")
            return line

        def check(proc: Proc) -> str:
            counts = server.ask("stats")
            if counts["messages"] != deliveries:
                raise Broken(f"{label}: the server received {counts['messages']} messages")
            opened = counts["ehlo"] + counts["helo"]
            connections.setdefault(label, []).append(opened)
            return f"{counts['messages']} messages, {opened} EHLO/HELO"

        return Side(label, fresh, check)

    smtp_db = DATA / "smtp.db"

    def certify_command() -> list[str]:
        copy_db(base_db(), smtp_db)
        return run_due(
            smtp_db, "--limit", str(deliveries), "--transport", "smtp", "--smtp-host",
            "127.0.0.1", "--smtp-port", str(server.port), "--smtp-security", "none", "--json",
        )  # fmt: skip

    unsynced_db = DATA / "smtp-unsynced.db"

    def unsynced_command() -> list[str]:
        copy_db(base_db(), unsynced_db)
        line = run_due(
            unsynced_db, "--limit", str(deliveries), "--transport", "smtp", "--smtp-host",
            "127.0.0.1", "--smtp-port", str(server.port), "--smtp-security", "none", "--json",
        )  # fmt: skip
        return python(ROOT / "bench" / "unsynced.py", *line[3:])  # after `python -m certify`

    def floor_command() -> list[str]:
        return python(
            ROOT / "bench" / "smtp_floor.py", floors(), floor_db(), "127.0.0.1",
            str(server.port), str(deliveries),
        )  # fmt: skip

    sides = [
        counted("floor", floor_command),
        counted("certify", certify_command),
        counted("certify unsynced", unsynced_command),
    ]
    if mailmerge.exists():
        options = mailmerge_inputs(DATA / "mailmerge", server.port, deliveries)
        sides.append(counted("mailmerge", lambda: [str(mailmerge), *options]))
    runs = measure(sides, repeat)
    opened = {label: max(counts) for label, counts in connections.items()}
    results = [
        ratio_result(
            f"SMTP, {deliveries} messages over one connection",
            runs,
            "certify",
            "floor",
            1.2,
            profile=Side("certify", certify_command),
            note=f"connections: certify {opened['certify']}, floor {opened['floor']}",
        )
    ]
    synced, unsynced = runs["certify"], runs["certify unsynced"]
    cpu, unsynced_cpu = median([p.cpu for p in synced]), median([p.cpu for p in unsynced])
    results.append(
        Result(
            f"SMTP, {deliveries} messages: the price of durable claim and sending marks",
            median([p.wall for p in synced]),
            median([p.wall for p in unsynced]),
            "s",
            "reported (kept: no second copy after a power cut)",
            True,
            f"cpu {cpu:.2f} s vs {unsynced_cpu:.2f} s = {cpu / unsynced_cpu:.2f}x; against the "
            "same run with SQLite's commits not synced (bench/unsynced.py)",
            subject_cpu=cpu,
            floor_cpu=unsynced_cpu,
        )
    )
    name = f"SMTP, {deliveries} messages, certify vs mailmerge"
    if "mailmerge" not in runs:
        missing = Broken(f"mailmerge is not installed at {mailmerge}: pip install -e '.[bench]'")
        return [*results, broken_result(name, missing)]
    for figure in ("wall", "cpu"):
        ours = median([getattr(p, figure) for p in runs["certify"]])
        theirs = median([getattr(p, figure) for p in runs["mailmerge"]])
        results.append(
            Result(
                f"{name} ({figure} time)",
                ours,
                theirs,
                "s",
                "< 1.0x mailmerge",
                ours < theirs,
                f"connections: certify {opened['certify']}, mailmerge {opened['mailmerge']}",
            )
        )
    return results
