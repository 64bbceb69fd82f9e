"""The record of each `run-due`: when it started, how it ended, what it did.

A row is written when a run starts and completed when it ends, so a run that was killed
shows as one that never finished. `certify status` and the report read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from certify.clock import from_utc_text, to_utc_text
from certify.locale import _, english, ngettext
from certify.store.database import Store
from certify.words import state_word


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as recorded: `ending` is running, ok, not accepted, problems or failed."""

    id: int
    started_at: datetime  # the machine's clock
    now: datetime  # the run's moment (--now)
    finished_at: datetime | None
    ending: str  # the `outcome` column
    exit_code: int | None
    counts: dict[str, int]
    detail: str | None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def successful(self) -> bool:
        """It did its work and reached the mail server: it exited 0 (everything it attempted
        was accepted, or it only waited out back-offs), or it went to the end and the server
        answered, refusing or putting off a few recipients (a greylisting server: those are
        the attention list's business, after their third attempt).

        Not successful: a run that stopped early (connection failures or unknown deliveries in
        a row, SIGTERM), met a configuration problem, could not start, or could not reach
        the mail server for a delivery: monitoring should hear of it at once.
        """
        if self.ending == "ok":
            return True
        return (
            self.ending == "not accepted"
            and not self.stopped_early
            and not self.counts.get("unreachable", 0)
        )

    @property
    def stopped_early(self) -> bool:
        """It stopped before it had attempted everything due; `detail` says why."""
        # a run that is `not accepted` records a detail only when it stopped (see results.py)
        return self.ending == "not accepted" and self.detail is not None

    @property
    def summary(self) -> str:
        """How it ended, in words: `ok`, or what went wrong."""
        if not self.finished:
            return _("still running (or killed)")
        if self.ending == "ok" or self.stopped_early:
            return self.detail or (_("ok") if self.ending == "ok" else self.ending)
        if self.ending == "not accepted":
            shown = ", ".join(
                f"{state_word(name)} {self.counts[name]}"
                for name in ("failed", "pending", "unknown")
                if self.counts.get(name)
            )
            unreachable = self.counts.get("unreachable", 0)
            if unreachable:
                return ngettext(
                    "the mail server could not be reached for {count} delivery ({shown})",
                    "the mail server could not be reached for {count} deliveries ({shown})",
                    unreachable,
                ).format(count=unreachable, shown=shown)
            return _("not every delivery was accepted ({shown})").format(
                shown=shown or _("see certify log")
            )
        if self.ending == "problems":
            return _("a configuration problem: {detail}").format(
                detail=self.detail or _("see its output")
            )
        return _("could not run: {detail}").format(detail=self.detail or _("see its output"))

    def as_json(self) -> dict[str, Any]:
        with english():
            summary = self.summary
        return {
            "started_at": to_utc_text(self.started_at),
            "now": to_utc_text(self.now),
            "finished_at": to_utc_text(self.finished_at) if self.finished_at else None,
            "outcome": self.ending,
            "successful": self.successful,
            "stopped_early": self.stopped_early,
            "summary": summary,
            "exit_code": self.exit_code,
            "counts": self.counts,
            "detail": self.detail,
        }


def start(store: Store, now: datetime) -> int:
    """Record that a run begins at the run's moment `now`."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO runs (started_at, now, outcome) VALUES (?, ?, 'running')",
            (to_utc_text(datetime.now(UTC)), to_utc_text(now)),
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def finish(
    store: Store,
    run_id: int,
    ending: str,
    exit_code: int,
    counts: dict[str, int],
    detail: str | None = None,
) -> None:
    """Record how a run ended."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE runs SET finished_at = ?, outcome = ?, exit_code = ?, counts = ?, detail = ? "
            "WHERE id = ?",
            (
                to_utc_text(datetime.now(UTC)),
                ending,
                exit_code,
                json.dumps(counts),
                detail,
                run_id,
            ),
        )


def _record(row: tuple[Any, ...]) -> RunRecord:
    run_id, started, now, finished, ending, exit_code, counts, detail = row
    return RunRecord(
        id=run_id,
        started_at=from_utc_text(started),
        now=from_utc_text(now),
        finished_at=from_utc_text(finished) if finished else None,
        ending=ending,
        exit_code=exit_code,
        counts=json.loads(counts) if counts else {},
        detail=detail,
    )


_COLUMNS = "id, started_at, now, finished_at, outcome, exit_code, counts, detail"


def last(store: Store) -> RunRecord | None:
    """The latest run, finished or not."""
    row = store.conn.execute(f"SELECT {_COLUMNS} FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    return _record(row) if row else None


def last_successful(store: Store) -> RunRecord | None:
    """The latest successful run (see `RunRecord.successful`)."""
    rows = store.conn.execute(  # read newest first, until the first successful one
        f"SELECT {_COLUMNS} FROM runs WHERE outcome IN ('ok', 'not accepted') ORDER BY id DESC"
    )
    for row in rows:
        record = _record(row)
        if record.successful:
            return record
    return None
