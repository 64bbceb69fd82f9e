"""The run: lock, plan, claim, render, send, record.

Every state change is its own short transaction; none is held open across network I/O.
The claim is committed before a message is handed over and the outcome right after, so a
crash at any point leaves a row that the next run settles without sending twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from types import FrameType
from typing import Any

from certify.clock import from_utc_text, to_utc_text
from certify.config import Action, Config
from certify.errors import CertifyError, LockedError
from certify.plan import Decision, Plan, make_plan
from certify.render import AddressError, TemplateProblem, Templates
from certify.store import Store, context_rows
from certify.transports import (
    AmbiguousFailure,
    ConnectionFailure,
    DeliveryFailure,
    PermanentFailure,
    TemporaryFailure,
    Transport,
    safe_file_name,
)

LOCK_WAIT_SECONDS = 10.0
RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX_GAP = timedelta(hours=24)
RETRY_MAX_ATTEMPTS = 8
RETRY_MAX_AGE = timedelta(hours=72)
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


def certificate_number(delivery_id: int, created: datetime) -> str:
    """Short enough to read out on the phone, unique by the row id, with a check digit."""
    body = f"{created.year}{delivery_id:06d}"
    total = sum((int(d) * (3 if i % 2 else 1)) for i, d in enumerate(reversed(body)))
    return f"{created.year}-{delivery_id:06d}-{(10 - total % 10) % 10}"


def message_id_for(delivery_id: int, key: tuple[str, str, str], sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "certify.invalid"
    token = hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:12]
    return f"<certify.{delivery_id}.{token}@{domain}>"


def next_attempt(attempts: int, now: datetime) -> datetime:
    gap: timedelta = min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX_GAP)
    return now + gap


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


def _local(moment: str | None, tz: tzinfo, *, as_date: bool = False) -> datetime | date | None:
    if not moment:
        return None
    local = from_utc_text(moment).astimezone(tz)
    if as_date:
        # a date-only value was stored as the start of the next day ("some time that day")
        return (local - timedelta(days=1)).date() if local.time().hour == 0 else local.date()
    return local


def build_context(
    store: Store,
    config: Config,
    templates: Templates,
    decision: Decision,
    *,
    delivery_id: int | None,
    certificate: str | None,
    message_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The variables of SPEC section 5 for one participant, as plain dicts."""
    tz = config.tz
    rows = context_rows(store.conn, decision.course.id, decision.participant.person_id)
    person, course, enrollment = rows["person"], rows["course"], rows["enrollment"]
    if not isinstance(person, dict) or not isinstance(course, dict):
        raise CertifyError(
            f"participant {decision.participant.person_id} of course {decision.course.id} not found"
        )
    enrollment = enrollment if isinstance(enrollment, dict) else {}
    a, p = decision.attendance, decision.passing
    met_at = _met_at(store, config, decision)
    context: dict[str, Any] = {
        "person": {
            "id": person["person_id"],
            "first_name": person["first_name"] or "",
            "infix": person["infix"] or "",
            "last_name": person["last_name"] or "",
            "full_name": person["full_name"] or "",
            "email": person["email"],
            "language": person["language"] or "",
            "extra": json.loads(person["extra"] or "{}"),
        },
        "course": {
            "id": course["course_id"],
            "name": course["name"],
            "type": course["course_type"] or "",
            "status": course["status"],
            "start": _local(course["start"], tz, as_date=False)
            if not course["start_is_date"]
            else _local(course["start"], tz).date(),  # type: ignore[union-attr]
            "end": _local(course["end"], tz, as_date=bool(course["end_is_date"])),
            "location": course["location"] or "",
            "extra": json.loads(course["extra"] or "{}"),
        },
        "enrollment": {
            "course_id": decision.course.id,
            "person_id": decision.participant.person_id,
            "status": enrollment.get("status", ""),
            "enrolled_at": decision.participant.enrolled_at.astimezone(tz),
            "extra": json.loads(enrollment.get("extra") or "{}"),
        },
        "parts": [_part(part, tz) for part in rows["parts"]],  # type: ignore[attr-defined]
        "requirements": {
            "attendance_met": a.met,
            "attendance_present": a.present,
            "attendance_needed": a.needed,
            "attendance_required_parts": a.required_parts,
            "attendance_percentage": a.percentage,
            "attendance_threshold": a.threshold,
            "pass_met": p.met,
            "pass_passed": p.passed,
            "pass_required_parts": p.required_parts,
            "met_at": met_at.astimezone(tz) if isinstance(met_at, datetime) else None,
        },
        "action": {"id": decision.action.id, "name": decision.action.name},
        "delivery": {
            "id": delivery_id,
            "certificate_number": certificate or "",
            "message_id": message_id or "",
        },
        "now": now.astimezone(tz),
    }
    context["action"]["name"] = templates.render_name(decision.action, context)
    return context


def _met_at(store: Store, config: Config, decision: Decision) -> datetime | None:
    """When the participant met what the action checks (attendance, and pass if checked)."""
    from certify import rules
    from certify.plan import as_moments, participant_figures, participants

    participant = decision.participant
    if participant.present_times is None:
        # planned from counts: read this one participant's registration moments
        participant = next(
            participants(store.conn, config, course_id=participant.course_id,
                         person_id=participant.person_id, with_times=True),
            participant,
        )  # fmt: skip
    c = decision.action.conditions
    attendance, passing = as_moments(participant_figures(decision.course, participant))
    return rules.requirements_met_at(
        attendance, passing, "yes", "yes" if c.pass_ == "yes" else "no",
        decision.participant.enrolled_at,
    )  # fmt: skip


def _part(part: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    present = None if part["present"] is None else bool(part["present"])
    passed = None if part["passed"] is None else bool(part["passed"])
    return {
        "id": part["part_id"],
        "name": part["name"],
        "start": _local(part["start"], tz),
        "end": _local(part["end"], tz),
        "attendance_required": bool(part["attendance_required"]),
        "pass_required": bool(part["pass_required"]),
        "present": present,
        "passed": passed,
        "grade": part["grade"],
        "attendance": None
        if present is None
        else {"present": present, "registered_at": _local(part["attendance_registered_at"], tz)},
        "result": None
        if passed is None
        else {
            "passed": passed,
            "grade": part["grade"],
            "registered_at": _local(part["result_registered_at"], tz),
        },
        "extra": json.loads(part["extra"] or "{}"),
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
        self.now_text = to_utc_text(now)
        self.log = log

    # -- bookkeeping ---------------------------------------------------------------------------

    def _event(self, delivery_id: int, state: str, detail: str | None = None) -> None:
        self.store.conn.execute(
            "INSERT INTO delivery_events (delivery_id, at, state, detail) VALUES (?, ?, ?, ?)",
            (delivery_id, self.now_text, state, detail),
        )

    def record_since(self, actions: list[Action]) -> None:
        """The first sending run that evaluates an action fixes what it covers from then on."""
        with self.store.transaction() as conn:
            for action in actions:
                if action.since is None:
                    conn.execute(
                        "INSERT OR IGNORE INTO action_since (action, since, recorded_at) "
                        "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                        (action.id, self.now_text),
                    )

    def _upsert(self, decision: Decision, state: str, detail: str | None = None) -> int:
        action, course, person = decision.key
        conn = self.store.conn
        import_id = self.store.latest_import_id()
        due = to_utc_text(decision.due_at) if decision.due_at else None
        figures = json.dumps(decision.figures(import_id))
        row = conn.execute(
            "SELECT id, state FROM deliveries WHERE action = ? AND course_id = ? AND person_id = ?",
            decision.key,
        ).fetchone()
        if row is None:
            delivery_id = conn.execute(
                "INSERT INTO deliveries (action, course_id, person_id, state, due_at, figures, "
                "import_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    action,
                    course,
                    person,
                    state,
                    due,
                    figures,
                    import_id,
                    self.now_text,
                    self.now_text,
                ),
            ).lastrowid
            assert delivery_id is not None
        else:
            delivery_id = int(row[0])
            if row[1] == state and state == "skipped":
                return delivery_id
            conn.execute(
                "UPDATE deliveries SET state = ?, due_at = ?, figures = ?, import_id = ?, "
                "updated_at = ? WHERE id = ?",
                (state, due, figures, import_id, self.now_text, delivery_id),
            )
        self._event(delivery_id, state, detail)
        return delivery_id

    def record_final(self, decisions: list[Decision], state: str) -> int:
        """Record `skipped` or `expired` decisions, set-based; returns how many are new."""
        fresh = [d for d in decisions if d.existing is None or d.existing.state != state]
        if not fresh:
            return 0
        import_id = self.store.latest_import_id()
        rows = [
            (*d.key, state, to_utc_text(d.due_at) if d.due_at else None,
             json.dumps(d.figures(import_id)), import_id, self.now_text, self.now_text)
            for d in fresh
        ]  # fmt: skip
        with self.store.transaction() as conn:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS decided (action, course_id, person_id)")
            conn.execute("DELETE FROM temp.decided")
            conn.executemany(
                "INSERT INTO deliveries (action, course_id, person_id, state, due_at, figures, "
                "import_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (action, course_id, person_id) DO UPDATE SET state = excluded.state, "
                "due_at = excluded.due_at, figures = excluded.figures, "
                "import_id = excluded.import_id, updated_at = excluded.updated_at",
                rows,
            )
            conn.executemany("INSERT INTO temp.decided VALUES (?, ?, ?)", [d.key for d in fresh])
            conn.execute(
                "INSERT INTO delivery_events (delivery_id, at, state, detail) "
                "SELECT d.id, ?, ?, NULL FROM temp.decided x JOIN deliveries d "
                "ON d.action = x.action AND d.course_id = x.course_id AND d.person_id = x.person_id",
                (self.now_text, state),
            )
        return len(fresh)

    def record_course_skips(self, plan: Plan) -> int:
        """Record whole courses of history as skipped, once per course and `since`."""
        total = 0
        import_id = self.store.latest_import_id()
        with self.store.transaction() as conn:
            for action_id, courses in plan.course_skips.items():
                since = to_utc_text(plan.since[action_id])
                for course_id, due in courses.items():
                    added = [
                        row[0]
                        for row in conn.execute(
                            "INSERT INTO deliveries (action, course_id, person_id, state, due_at, "
                            "import_id, created_at, updated_at) SELECT ?, e.course_id, e.person_id, "
                            "'skipped', ?, ?, ?, ? FROM enrollments e "
                            "WHERE e.course_id = ? AND e.status != 'cancelled' "
                            "ON CONFLICT (action, course_id, person_id) DO NOTHING RETURNING id",
                            (action_id, to_utc_text(due), import_id, self.now_text, self.now_text,
                             course_id),
                        ).fetchall()
                    ]  # fmt: skip
                    conn.executemany(
                        "INSERT INTO delivery_events (delivery_id, at, state) VALUES (?, ?, 'skipped')",
                        [(delivery_id, self.now_text) for delivery_id in added],
                    )
                    total += len(added)
                    conn.execute(
                        "INSERT INTO course_skips (action, course_id, since) VALUES (?, ?, ?) "
                        "ON CONFLICT (action, course_id) DO UPDATE SET since = excluded.since",
                        (action_id, course_id, since),
                    )
        return total

    def count_course_skips(self, plan: Plan) -> int:
        """For a dry run: how many participants recording the history would skip."""
        total = 0
        for action_id, courses in plan.course_skips.items():
            if courses:
                total += self.store.conn.execute(
                    "SELECT count(*) FROM enrollments e WHERE e.status != 'cancelled' "
                    "AND e.course_id IN (SELECT value FROM json_each(?)) AND NOT EXISTS "
                    "(SELECT 1 FROM deliveries d WHERE d.action = ? AND d.course_id = e.course_id "
                    "AND d.person_id = e.person_id)",
                    (json.dumps(list(courses)), action_id),
                ).fetchone()[0]
        return total

    def recover(self, transport: Transport) -> list[str]:
        """Settle rows a killed run left `claimed` (not handed over) or `sending` (maybe sent)."""
        notes = []
        conn = self.store.conn
        rows = conn.execute(
            "SELECT id, state, action, course_id, person_id FROM deliveries "
            "WHERE state IN ('claimed', 'sending')"
        ).fetchall()
        for delivery_id, state, action, course, person in rows:
            if state == "claimed":
                new_state, detail = "pending", "run stopped before the message was handed over"
            else:
                delivered = transport.was_delivered(safe_file_name(action, course, person))
                if delivered is True:
                    new_state, detail = "sent", "found written after an interrupted run"
                elif delivered is False:
                    new_state, detail = "pending", "run stopped before the file was written"
                else:
                    new_state, detail = "unknown", "run stopped while handing the message over"
            with self.store.transaction():
                conn.execute(
                    "UPDATE deliveries SET state = ?, next_attempt_at = NULL, last_error = "
                    "CASE WHEN ? = 'sent' THEN last_error ELSE ? END, updated_at = ?, "
                    "sent_at = CASE WHEN ? = 'sent' THEN coalesce(sent_at, ?) ELSE sent_at END "
                    "WHERE id = ?",
                    (
                        new_state,
                        new_state,
                        detail,
                        self.now_text,
                        new_state,
                        self.now_text,
                        delivery_id,
                    ),
                )
                self._event(delivery_id, new_state, detail)
            notes.append(f"{action} {course}/{person}: {state} → {new_state} ({detail})")
        return notes

    def claim(self, decision: Decision) -> tuple[int, str, str]:
        """Commit the claim before any network I/O; fixes Message-ID and certificate number."""
        with self.store.transaction() as conn:
            delivery_id = self._upsert(decision, "claimed")
            row = conn.execute(
                "SELECT message_id, certificate_number, created_at FROM deliveries WHERE id = ?",
                (delivery_id,),
            ).fetchone()
            message_id, certificate, created = row
            if message_id is None:
                message_id = message_id_for(delivery_id, decision.key, self.config.settings.sender)
                certificate = certificate_number(delivery_id, from_utc_text(created))
                conn.execute(
                    "UPDATE deliveries SET message_id = ?, certificate_number = ?, "
                    "claimed_at = ?, email = (SELECT email FROM persons WHERE person_id = ?) "
                    "WHERE id = ?",
                    (message_id, certificate, self.now_text, decision.participant.person_id,
                     delivery_id),
                )  # fmt: skip
            else:
                conn.execute(
                    "UPDATE deliveries SET claimed_at = ?, "
                    "email = (SELECT email FROM persons WHERE person_id = ?) WHERE id = ?",
                    (self.now_text, decision.participant.person_id, delivery_id),
                )
        return delivery_id, message_id, certificate

    def _outcome(
        self, delivery_id: int, state: str, *, error: str | None = None, code: int | None = None,
        next_at: datetime | None = None, count_attempt: bool = True,
    ) -> None:  # fmt: skip
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET state = ?, attempts = attempts + ?, last_error = ?, "
                "last_code = ?, next_attempt_at = ?, updated_at = ?, "
                "first_attempt_at = coalesce(first_attempt_at, ?), "
                "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                (
                    state, int(count_attempt), error, code,
                    to_utc_text(next_at) if next_at else None, self.now_text, self.now_text,
                    state, self.now_text, delivery_id,
                ),
            )  # fmt: skip
            self._event(delivery_id, state, error)

    def _mark_sending(self, delivery_id: int) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET state = 'sending', updated_at = ? WHERE id = ?",
                (self.now_text, delivery_id),
            )

    def deliver(
        self, decision: Decision, transport: Transport, *, forced_reason: str | None = None
    ) -> DeliveryOutcome:
        """Claim, render, hand over and record one delivery."""
        delivery_id, message_id, certificate = self.claim(decision)
        if forced_reason:
            with self.store.transaction():
                self._event(delivery_id, "forced", forced_reason)
            # a re-send is a new message to mail servers, which drop repeated Message-IDs
            message_id = message_id.replace("@", f".r{int(self.now.timestamp())}@", 1)
        outcome = DeliveryOutcome(
            decision.action.id, decision.course.id, decision.participant.person_id, None, "claimed",
            to_utc_text(decision.due_at) if decision.due_at else None, message_id, certificate,
        )  # fmt: skip
        try:
            context = build_context(
                self.store, self.config, self.templates, decision, delivery_id=delivery_id,
                certificate=certificate, message_id=message_id, now=self.now,
            )  # fmt: skip
            outcome.email = context["person"]["email"]
            message = self.templates.render(
                decision.action,
                context,
                message_id=message_id,
                sent_at=self.now.astimezone(self.config.tz),
            )
        except (TemplateProblem, AddressError) as exc:
            reason = "; ".join(exc.problems) if isinstance(exc, TemplateProblem) else str(exc)
            self._outcome(delivery_id, "failed", error=reason)
            outcome.state, outcome.error = "failed", reason
            return outcome
        recipients = [a.addr_spec for a in message["To"].addresses]
        for header in ("Cc", "Bcc"):
            if message[header]:
                recipients.extend(a.addr_spec for a in message[header].addresses)
        del message["Bcc"]  # an envelope recipient only: never in what any transport writes
        file_name = safe_file_name(*decision.key)
        try:
            transport.send(message, recipients, file_name, lambda: self._mark_sending(delivery_id))
        except AmbiguousFailure as exc:
            self._outcome(delivery_id, "unknown", error=exc.reason, code=exc.code)
            outcome.state, outcome.error = "unknown", exc.reason
        except PermanentFailure as exc:
            self._outcome(delivery_id, "failed", error=exc.reason, code=exc.code)
            outcome.state, outcome.error = "failed", exc.reason
        except TemporaryFailure as exc:
            outcome.state, outcome.error = self._temporary(delivery_id, exc), exc.reason
            outcome.connection = exc.connection
        else:
            self._outcome(delivery_id, "sent")
            outcome.state = "sent"
        return outcome

    def _temporary(self, delivery_id: int, exc: DeliveryFailure) -> str:
        attempts, first = self.store.conn.execute(
            "SELECT attempts, coalesce(first_attempt_at, ?) FROM deliveries WHERE id = ?",
            (self.now_text, delivery_id),
        ).fetchone()
        attempts += 1
        too_old = self.now - from_utc_text(first) >= RETRY_MAX_AGE
        if attempts >= RETRY_MAX_ATTEMPTS or too_old:
            reason = f"{exc.reason} (gave up after {attempts} attempts)"
            self._outcome(delivery_id, "failed", error=reason, code=exc.code)
            return "failed"
        self._outcome(
            delivery_id, "pending", error=exc.reason, code=exc.code,
            next_at=next_attempt(attempts, self.now),
        )  # fmt: skip
        return "pending"

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
            self.record_since(actions)
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
            report.skipped = sum(1 for d in skipped if not d.existing) + self.count_course_skips(
                plan
            )
            report.expired = len(expired)
            report.sent = len(to_send)
            report.would_send = to_send
            return report
        report.skipped = self.record_final(skipped, "skipped") + self.record_course_skips(plan)
        report.expired = self.record_final(expired, "expired")
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


def _would(decision: Decision, state: str) -> DeliveryOutcome:
    return DeliveryOutcome(
        decision.action.id, decision.course.id, decision.participant.person_id, None, state,
        _due_text(decision.due_at) if decision.due_at else None,
    )  # fmt: skip


@lru_cache(maxsize=4096)
def _due_text(moment: datetime) -> str:
    return to_utc_text(moment)


def _line(outcome: DeliveryOutcome) -> str:
    text = f"{outcome.state}: {outcome.action} {outcome.course}/{outcome.person} <{outcome.email}>"
    return f"{text}: {outcome.error}" if outcome.error else text
