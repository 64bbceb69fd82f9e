"""The benchmark harness measures what it claims: whole processes, their own CPU and memory,
the connections a sender opens, and it refuses a run that did not do its work."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest

from bench.bench_smtp import SmtpSink
from bench.common import ROOT, Broken, FloorsMissing, Side, floors, measure, python, run_process


def test_missing_floors_are_named_with_the_variable_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CERTIFY_FLOORS", str(tmp_path))
    with pytest.raises(FloorsMissing, match=r"CERTIFY_FLOORS.*import_floor\.py"):
        floors()
    process = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "tick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "CERTIFY_FLOORS": str(tmp_path / "nowhere")},
        timeout=60,
    )
    assert process.returncode == 2
    assert f"the shared floors are not at {tmp_path / 'nowhere'}" in process.stderr
    assert "Traceback" not in process.stderr


def test_a_process_is_measured_on_its_own_cpu_and_memory() -> None:
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    spinning = run_process(python("-c", busy))
    holding = run_process(
        python("-c", "b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096])")
    )
    assert spinning.code == holding.code == 0
    assert spinning.cpu >= 0.3 and spinning.wall >= 0.3
    assert holding.rss_mib >= 150 > spinning.rss_mib  # this child's peak, not the largest so far


def test_a_childs_peak_memory_does_not_start_from_the_harness() -> None:
    """Linux starts a forked child's ru_maxrss at its parent's: the harness grows in process."""
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    assert run_process(python("-c", "pass")).rss_mib < 100
    del ballast


def test_a_command_that_cannot_start_is_broken() -> None:
    with pytest.raises(Broken, match="could not run /nonexistent/certify"):
        run_process(["/nonexistent/certify"])


def test_the_sink_counts_connections_and_messages() -> None:
    sink = SmtpSink()
    try:
        message = b"Subject: x\r\n\r\nbody\r\n"
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            for _ in range(3):
                smtp.sendmail("a@example.org", ["b@example.org"], message)
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            smtp.helo()
            smtp.sendmail("a@example.org", ["b@example.org"], message)
        assert sink.ask("stats") == {"ehlo": 1, "helo": 1, "messages": 4}
        assert sink.ask("reset")["messages"] == 0
    finally:
        sink.stop()


def test_a_run_that_failed_or_did_too_little_is_broken_not_fast() -> None:
    failing = Side("subject", lambda: python("-c", "raise SystemExit('no database')"))
    with pytest.raises(Broken, match="subject exited 1: no database"):
        measure([failing], 1)

    def too_few(proc: object) -> str:
        raise Broken("wrote 0 of 5000 files")

    with pytest.raises(Broken, match="0 of 5000"):
        measure([Side("subject", lambda: python("-c", "pass"), too_few)], 1)
