"""The run: the lock, the loop over what is due, the transport calls, and SIGTERM.

Every state change goes through the delivery log (`deliveries.py`) as its own short
transaction; none is held open across network I/O. The claim is committed before a message
is handed over and the outcome right after, so a crash at any point leaves a row that the
next run settles without sending twice.
"""

from __future__ import annotations

import fcntl
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import FrameType
from typing import Any

from certify.clock import to_utc_text
from certify.config import Action, Config
from certify.context import DeliveryContexts, DeliveryRef
from certify.decisions import Decision
from certify.deliveries import DeliveryLog
from certify.errors import LockedError
from certify.plan import Plan, make_plan
from certify.render import AddressError, TemplateProblem, Templates
from certify.store import Store
from certify.transports import (
    AmbiguousFailure,
    ConnectionFailure,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    safe_file_name,
)

LOCK_WAIT_SECONDS = 10.0
CONNECTION_FAILURES_TO_STOP = 3


@contextmanager
def run_lock(db: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """An exclusive lock on `DB.lock`; the kernel releases it if the process dies."""
    path = db.with_name(db.name + ".lock")
    handle = path.open("a")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another certify run holds {path}",
                        hint="it will finish by itself; the next cron tick picks up what is left",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()


@dataclass
class DeliveryOutcome:
    action: str
    course: str
    person: str
    email: str | None
    state: str
    due_at: str | None
    message_id: str | None = None
    certificate_number: str | None = None
    error: str | None = None
    connection: bool = False  # the server could not be reached at all

    def as_json(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if key != "connection"}


@dataclass
class RunReport:
    now: datetime
    dry_run: bool
    sent: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0
    expired: int = 0
    unknown: int = 0
    waiting: int = 0
    not_due: int = 0
    stopped: str | None = None
    sent_outcomes: list[DeliveryOutcome] = field(default_factory=list)
    waiting_on: dict[str, int] = field(default_factory=dict)
    plan: Plan | None = None
    would_send: list[Decision] = field(default_factory=list)

    @property
    def deliveries(self) -> list[DeliveryOutcome]:
        """This run's deliveries; for a dry run, what would be sent (built when asked for)."""
        if self.dry_run:
            return [_would(d, "would send") for d in self.would_send]
        return self.sent_outcomes

    @property
    def not_accepted(self) -> bool:
        return bool(self.failed or self.pending or self.unknown or self.stopped)

    def as_json(self) -> dict[str, Any]:
        return {
            "now": to_utc_text(self.now),
            "dry_run": self.dry_run,
            "sent": self.sent,
            "failed": self.failed,
            "pending": self.pending,
            "skipped": self.skipped,
            "expired": self.expired,
            "unknown": self.unknown,
            "waiting": self.waiting,
            "not_due": self.not_due,
            "stopped": self.stopped,
            "waiting_on": self.waiting_on,
            "deliveries": [d.as_json() for d in self.deliveries],
        }


class _Stop:
    """SIGTERM: finish the message in hand, record it, then stop."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> _Stop:
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread
            self._previous = None
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


class Runner:
    """One run at one moment: plans, then claims, renders, hands over and records."""

    def __init__(
        self,
        store: Store,
        config: Config,
        templates: Templates,
        now: datetime,
        *,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.store = store
        self.config = config
        self.templates = templates
        self.now = now
        self.log = log
        self.deliveries = DeliveryLog(store, now)
        self.contexts = DeliveryContexts(store.conn, config)

    def recover(self, transport: Transport) -> list[str]:
        """Settle what a killed run left `claimed` or `sending`."""
        return self.deliveries.recover(lambda key: transport.was_delivered(safe_file_name(*key)))

    def deliver(
        self, decision: Decision, transport: Transport, *, forced_reason: str | None = None
    ) -> DeliveryOutcome:
        """Claim, render, hand over and record one delivery."""
        log = self.deliveries
        claim = log.claim(decision.decided(), self.config.settings.sender)
        message_id = claim.message_id
        if forced_reason:
            log.forced(claim.id, forced_reason)
            # a re-send is a new message to mail servers, which drop repeated Message-IDs
            message_id = message_id.replace("@", f".r{int(self.now.timestamp())}@", 1)
        outcome = DeliveryOutcome(
            action=decision.action.id,
            course=decision.course.id,
            person=decision.participant.person_id,
            email=None,
            state="claimed",
            due_at=to_utc_text(decision.due_at) if decision.due_at else None,
            message_id=message_id,
            certificate_number=claim.certificate_number,
        )
        try:
            context = self.contexts.read(
                decision, DeliveryRef(claim.id, claim.certificate_number, message_id), self.now
            )
            outcome.email = context["person"]["email"]
            message = self.templates.render(
                decision.action,
                context,
                message_id=message_id,
                sent_at=self.now.astimezone(self.config.tz),
            )
        except (TemplateProblem, AddressError) as exc:
            reason = "; ".join(exc.problems) if isinstance(exc, TemplateProblem) else str(exc)
            log.outcome(claim.id, "failed", error=reason)
            outcome.state, outcome.error = "failed", reason
            return outcome
        recipients = [a.addr_spec for a in message["To"].addresses]
        for header in ("Cc", "Bcc"):
            if message[header]:
                recipients.extend(a.addr_spec for a in message[header].addresses)
        del message["Bcc"]  # an envelope recipient only: never in what any transport writes
        file_name = safe_file_name(*decision.key)
        try:
            transport.send(message, recipients, file_name, lambda: log.mark_sending(claim.id))
        except AmbiguousFailure as exc:
            log.outcome(claim.id, "unknown", error=exc.reason, code=exc.code)
            outcome.state, outcome.error = "unknown", exc.reason
        except PermanentFailure as exc:
            log.outcome(claim.id, "failed", error=exc.reason, code=exc.code)
            outcome.state, outcome.error = "failed", exc.reason
        except TemporaryFailure as exc:
            outcome.state = log.temporary_failure(claim.id, exc.reason, exc.code)
            outcome.error = exc.reason
            outcome.connection = exc.connection
        else:
            log.outcome(claim.id, "sent")
            outcome.state = "sent"
        return outcome

    # -- the run -------------------------------------------------------------------------------

    def plan(self, actions: list[Action]) -> Plan:
        return make_plan(self.store, self.config, self.now, actions=actions)

    def run(
        self,
        actions: list[Action],
        transport: Transport | None,
        *,
        limit: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> RunReport:
        """A real run (transport given) or a dry run (transport None: reads only)."""
        report = RunReport(self.now, dry_run=transport is None)
        if transport is not None:
            try:
                transport.open()
            except ConnectionFailure as exc:
                # unreachable is temporary: each delivery records it, and 3 in a row stop the run
                self.log(f"cannot reach the mail server yet: {exc.reason}")
            for note in self.recover(transport):
                self.log(f"recovered: {note}")
            self.deliveries.record_since([a.id for a in actions if a.since is None])
        plan = self.plan(actions)
        report.plan = plan
        skipped = plan.by_outcome("skipped")
        expired = plan.by_outcome("expired")
        to_send = plan.by_outcome("send")
        if limit is not None:
            to_send = to_send[:limit]
        report.waiting = len(plan.by_outcome("waiting"))
        report.not_due = len(plan.by_outcome("not_due")) + plan.not_due_elsewhere
        report.pending = len(plan.by_outcome("retry_later"))
        report.waiting_on = dict(plan.waiting_summary().most_common())
        if transport is None:
            report.skipped = sum(1 for d in skipped if not d.existing) + self._count_course_skips(
                plan
            )
            report.expired = len(expired)
            report.sent = len(to_send)
            report.would_send = to_send
            return report
        report.skipped = self._record_final(skipped, "skipped")
        report.skipped += self.deliveries.record_course_skips(plan.course_skips, plan.since)
        report.expired = self._record_final(expired, "expired")
        if report.skipped:
            self.log(
                f"skipped {report.skipped} deliveries due before the action's `since` "
                "(no mailing of history; set `since:` to include it on purpose)"
            )
        connection_failures = 0
        with _Stop() as stop:
            for index, decision in enumerate(to_send):
                if stop.requested:
                    report.stopped = "stopped by SIGTERM; the rest waits for the next run"
                    break
                outcome = self.deliver(decision, transport)
                report.sent_outcomes.append(outcome)
                self.log(_line(outcome))
                if outcome.state == "sent":
                    report.sent += 1
                    connection_failures = 0
                elif outcome.state == "failed":
                    report.failed += 1
                elif outcome.state == "unknown":
                    report.unknown += 1
                else:
                    report.pending += 1
                    connection_failures = connection_failures + 1 if outcome.connection else 0
                if progress:
                    progress(index + 1, len(to_send))
                if connection_failures >= CONNECTION_FAILURES_TO_STOP:
                    report.stopped = (
                        f"stopped after {connection_failures} connection failures in a row; "
                        "the rest stays pending for the next run"
                    )
                    break
        transport.close()
        return report

    def _record_final(self, decisions: list[Decision], state: str) -> int:
        fresh = [d for d in decisions if d.existing is None or d.existing.state != state]
        return self.deliveries.record_final([d.decided() for d in fresh], state)

    def _count_course_skips(self, plan: Plan) -> int:
        """For a dry run: how many participants recording the history would skip."""
        return sum(
            self.deliveries.unlogged_enrollments(action_id, courses)
            for action_id, courses in plan.course_skips.items()
            if courses
        )


def _would(decision: Decision, state: str) -> DeliveryOutcome:
    return DeliveryOutcome(
        decision.action.id,
        decision.course.id,
        decision.participant.person_id,
        None,
        state,
        _due_text(decision.due_at) if decision.due_at else None,
    )


@lru_cache(maxsize=4096)
def _due_text(moment: datetime) -> str:
    return to_utc_text(moment)


def _line(outcome: DeliveryOutcome) -> str:
    text = f"{outcome.state}: {outcome.action} {outcome.course}/{outcome.person} <{outcome.email}>"
    return f"{text}: {outcome.error}" if outcome.error else text
