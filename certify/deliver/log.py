"""The delivery log: every state change of `deliveries` and their events (what a plan reads
of them is in `lookup`, what people read in `history`).

Like a mail queue's one queue object, this is the only code that writes the log. Each
write is its own short transaction, so none is held open across network I/O; the claim
is committed before a message is handed over and the result right after.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, NamedTuple

from certify.clock import from_utc_text, to_utc_text
from certify.deliver.lookup import Key
from certify.deliver.state import HELD_BY_A_RUN, MARK_FREELY, DeliveryState, sql_list
from certify.deliver.wording import gave_up, interrupted, marked, retried
from certify.errors import CertifyError
from certify.register.keep import CertificateKeeper, issue_delivered
from certify.store.database import Store
from certify.words import state_word

RETRY_FIRST = timedelta(minutes=5)
RETRY_MAX_GAP = timedelta(hours=24)
RETRY_MAX_ATTEMPTS = 8
RETRY_MAX_AGE = timedelta(hours=72)


def certificate_number(delivery_id: int, created: datetime) -> str:
    """Short enough to read out on the phone, unique by the row id, with a check digit."""
    body = f"{created.year}{delivery_id:06d}"
    total = sum((int(d) * (3 if i % 2 else 1)) for i, d in enumerate(reversed(body)))
    return f"{created.year}-{delivery_id:06d}-{(10 - total % 10) % 10}"


@functools.cache
def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "certify.invalid"


def message_id_for(delivery_id: int, key: Key, sender: str) -> str:
    """A Message-ID fixed per delivery, in the sender's domain."""
    domain = _domain(sender)
    token = hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:12]
    return f"<certify.{delivery_id}.{token}@{domain}>"


def next_attempt(attempts: int, now: datetime) -> datetime:
    """Back-off after `attempts` temporary failures: 5 minutes, doubling, at most 24 hours."""
    gap: timedelta = min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX_GAP)
    return now + gap


class Decided(NamedTuple):
    """What the log keeps of a decision: its key, due moment and the figures behind it."""

    key: Key
    due_at: datetime | None
    figures: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery taken in hand by this run, with what its attempts need to know."""

    id: int
    key: Key
    message_id: str
    certificate_number: str
    attempts: int  # before this attempt
    first_attempt_at: str | None


class DeliveryLog:
    """The delivery log of one store, as seen at one moment (`now`, the run's moment)."""

    def __init__(self, store: Store, now: datetime) -> None:
        self.store = store
        self.conn = store.conn
        self.now = now
        self.now_text = to_utc_text(now)
        self._import_id: int | None = None
        self._import_read = False
        self._results: list[dict[str, Any]] = []  # noted, not yet written (see `record`)
        # the register: a rendered PDF is noted, then written by `keep_certificates`
        self.certificates = CertificateKeeper(self.now_text)

    @property
    def import_id(self) -> int | None:
        """The latest import: what the decisions of this moment are based on."""
        if not self._import_read:
            self._import_id = self.store.latest_import_id()
            self._import_read = True
        return self._import_id

    def _figures(self, decided: Decided) -> str:
        return json.dumps({**decided.figures, "import_id": self.import_id})

    # -- writing ----------------------------------------------------------------------------

    def _events(self, conn: sqlite3.Connection, events: list[tuple[int, str, str | None]]) -> None:
        """The one writer of delivery events: (delivery id, state, detail), at this moment."""
        conn.executemany(
            "INSERT INTO delivery_events (delivery_id, at, state, detail) VALUES (?, ?, ?, ?)",
            [(delivery_id, self.now_text, state, detail) for delivery_id, state, detail in events],
        )

    def _put(
        self,
        conn: sqlite3.Connection,
        delivery_id: int,
        state: DeliveryState,
        detail: str,
        *,
        error: str | None,
    ) -> None:
        """Set a delivery's state outside an attempt (no back-off), with its event; `error`
        replaces the last error when given."""
        conn.execute(
            "UPDATE deliveries SET state = :state, next_attempt_at = NULL, updated_at = :now, "
            "last_error = coalesce(:error, last_error), sent_at = CASE WHEN :state = :sent "
            "THEN coalesce(sent_at, :now) ELSE sent_at END WHERE id = :id",
            {
                "state": state,
                "now": self.now_text,
                "error": error,
                "sent": DeliveryState.SENT,
                "id": delivery_id,
            },
        )
        self._events(conn, [(delivery_id, state, detail)])

    def record_since(self, action_ids: list[str]) -> None:
        """The first sending run that evaluates an action fixes what it covers from then on."""
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO action_since (action, since, recorded_at) "
                "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                [(action_id, self.now_text) for action_id in action_ids],
            )

    def record_final(self, decided: list[Decided], state: DeliveryState) -> int:
        """Record `skipped` or `expired` decisions, set-based; returns how many."""
        if not decided:
            return 0
        rows = [
            (
                *d.key,
                state,
                to_utc_text(d.due_at) if d.due_at else None,
                self._figures(d),
                self.import_id,
                self.now_text,
                self.now_text,
            )
            for d in decided
        ]
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
            conn.executemany("INSERT INTO temp.decided VALUES (?, ?, ?)", [d.key for d in decided])
            recorded = conn.execute(
                "SELECT d.id FROM temp.decided x JOIN deliveries d ON d.action = x.action "
                "AND d.course_id = x.course_id AND d.person_id = x.person_id"
            )
            self._events(conn, [(delivery_id, state, None) for (delivery_id,) in recorded])
        return len(decided)

    def record_course_skips(
        self, course_skips: dict[str, dict[str, datetime]], since: dict[str, datetime]
    ) -> int:
        """Record whole courses of history as skipped, once per course and `since`."""
        total = 0
        with self.store.transaction() as conn:
            for action_id, courses in course_skips.items():
                since_text = to_utc_text(since[action_id])
                for course_id, due in courses.items():
                    added = conn.execute(
                        "INSERT INTO deliveries (action, course_id, person_id, state, due_at, "
                        "import_id, created_at, updated_at) SELECT ?, e.course_id, e.person_id, "
                        "?, ?, ?, ?, ? FROM enrollments e "
                        "WHERE e.course_id = ? AND e.status != 'cancelled' "
                        "ON CONFLICT (action, course_id, person_id) DO NOTHING RETURNING id",
                        (action_id, DeliveryState.SKIPPED, to_utc_text(due), self.import_id,
                         self.now_text, self.now_text, course_id),
                    ).fetchall()  # fmt: skip
                    self._events(conn, [(row[0], DeliveryState.SKIPPED, None) for row in added])
                    total += len(added)
                    conn.execute(
                        "INSERT INTO course_skips (action, course_id, since) VALUES (?, ?, ?) "
                        "ON CONFLICT (action, course_id) DO UPDATE SET since = excluded.since",
                        (action_id, course_id, since_text),
                    )
        return total

    def recover(self, was_delivered: Callable[[Key, str | None], bool | None]) -> list[str]:
        """Resolve rows a killed run left `claimed` (not handed over) or `sending` (maybe sent).

        `was_delivered(key, message_id)` asks the transport: True or False when it can tell,
        else None.
        """
        notes = []
        rows = self.conn.execute(
            "SELECT id, state, action, course_id, person_id, message_id FROM deliveries "
            f"WHERE state IN {sql_list(HELD_BY_A_RUN)}"
        ).fetchall()
        for delivery_id, state, action, course, person, message_id in rows:
            delivered = was_delivered((action, course, person), message_id)
            new_state, detail = _recovered(state, delivered)
            with self.store.transaction() as conn:
                error = None if new_state == DeliveryState.SENT else detail
                self._put(conn, delivery_id, new_state, detail, error=error)
                issue_delivered(conn, self.now_text)
            moved = f"{state_word(state)} → {state_word(new_state)}"
            notes.append(f"{action} {course}/{person}: {moved} ({detail})")
        return notes

    def expire_unsent(self, conn: sqlite3.Connection, person_id: str, detail: str) -> int:
        """Within the caller's transaction (forgetting a person): what was not sent yet, pending
        or left claimed by a killed run, expires, never to be sent; returns how many."""
        unsent = sql_list((DeliveryState.PENDING, DeliveryState.CLAIMED))
        ids = [
            delivery_id
            for (delivery_id,) in conn.execute(
                f"SELECT id FROM deliveries WHERE person_id = ? AND state IN {unsent}",
                (person_id,),
            )
        ]
        conn.executemany(
            "UPDATE deliveries SET state = ?, next_attempt_at = NULL, last_error = ?, "
            "updated_at = ? WHERE id = ?",
            [(DeliveryState.EXPIRED, detail, self.now_text, delivery_id) for delivery_id in ids],
        )
        self._events(conn, [(delivery_id, DeliveryState.EXPIRED, detail) for delivery_id in ids])
        return len(ids)

    def claim_many(self, decided: list[Decided], sender: str) -> list[Claim]:
        """Commit the claims before any hand-over, in one transaction; fixes each one's
        Message-ID and certificate number the first time it is claimed."""
        claims = []
        with self.store.transaction() as conn:
            for item in decided:
                action, course, person = item.key
                due = to_utc_text(item.due_at) if item.due_at else None
                delivery_id, message_id, certificate, created, attempts, first = conn.execute(
                    "INSERT INTO deliveries (action, course_id, person_id, state, due_at, "
                    "figures, import_id, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (action, course_id, person_id) DO UPDATE SET "
                    "state = excluded.state, due_at = excluded.due_at, "
                    "figures = excluded.figures, import_id = excluded.import_id, "
                    "updated_at = excluded.updated_at "
                    "RETURNING id, message_id, certificate_number, created_at, attempts, "
                    "first_attempt_at",
                    (action, course, person, DeliveryState.CLAIMED, due, self._figures(item),
                     self.import_id, self.now_text, self.now_text),
                ).fetchone()  # fmt: skip
                if message_id is None:
                    message_id = message_id_for(delivery_id, item.key, sender)
                    certificate = certificate_number(delivery_id, from_utc_text(created))
                claims.append(
                    Claim(delivery_id, item.key, message_id, certificate, attempts, first)
                )
            conn.executemany(
                "UPDATE deliveries SET message_id = ?, certificate_number = ?, claimed_at = ?, "
                "email = (SELECT email FROM persons WHERE person_id = ?) WHERE id = ?",
                [
                    (c.message_id, c.certificate_number, self.now_text, c.key[2], c.id)
                    for c in claims
                ],
            )
            self._events(conn, [(c.id, DeliveryState.CLAIMED, None) for c in claims])
        return claims

    def claim(self, decided: Decided, sender: str) -> Claim:
        """Commit one claim (see `claim_many`)."""
        return self.claim_many([decided], sender)[0]

    def unclaim(self, claims: list[Claim]) -> None:
        """Claims this run will not attempt after all (it stops): back to pending, untouched."""
        if not claims:
            return
        with self.store.transaction() as conn:
            conn.executemany(
                "UPDATE deliveries SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
                [
                    (DeliveryState.PENDING, self.now_text, claim.id, DeliveryState.CLAIMED)
                    for claim in claims
                ],
            )

    def release(self, delivery_id: int, reason: str) -> None:
        """Back to pending after a configuration problem: not an attempt, not a failure."""
        with self.store.transaction() as conn:
            self._put(conn, delivery_id, DeliveryState.PENDING, reason, error=reason)

    def forced(self, delivery_id: int, reason: str, message_id: str) -> None:
        """Note why an administrator sends a delivery again, and the Message-ID it goes with."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET message_id = ? WHERE id = ?", (message_id, delivery_id)
            )
            self._events(conn, [(delivery_id, "forced", f"{reason} (Message-ID {message_id})")])

    def mark_sending(self, claim: Claim) -> None:
        """The last step before a hand-over the transport cannot take back: from here on the
        message may have arrived. On disk (with the results noted so far) before it returns."""
        with self.store.transaction() as conn:
            self._write_results(conn)
            conn.execute(
                "UPDATE deliveries SET state = ?, updated_at = ? WHERE id = ?",
                (DeliveryState.SENDING, self.now_text, claim.id),
            )

    def keep_certificates(self) -> None:
        """Write the certificates rendered since the last call, before their message is handed
        over (by any transport), so that none issued can be missing from the register."""
        with self.store.transaction() as conn:
            self.certificates.write(conn)

    def record(
        self,
        claim: Claim,
        state: DeliveryState,
        *,
        error: str | None = None,
        code: int | None = None,
        next_at: datetime | None = None,
    ) -> None:
        """Note the result of one attempt; it is written with the next `mark_sending` or
        `flush`, whichever comes first (the run flushes before it ends)."""
        self._results.append(
            {
                "state": state,
                "error": error,
                "code": code,
                "now": self.now_text,
                "next": to_utc_text(next_at) if next_at else None,
                "id": claim.id,
                "sent": DeliveryState.SENT,
            }
        )

    def flush(self) -> None:
        """Write the results noted so far, in one transaction."""
        if self._results:
            with self.store.transaction() as conn:
                self._write_results(conn)

    def _write_results(self, conn: sqlite3.Connection) -> None:
        if not self._results:
            return
        conn.executemany(
            "UPDATE deliveries SET state = :state, attempts = attempts + 1, "
            "last_error = :error, last_code = :code, next_attempt_at = :next, "
            "updated_at = :now, first_attempt_at = coalesce(first_attempt_at, :now), "
            "sent_at = CASE WHEN :state = :sent THEN :now ELSE sent_at END WHERE id = :id",
            self._results,
        )
        self._events(conn, [(r["id"], r["state"], r["error"]) for r in self._results])
        self._results = []
        issue_delivered(conn, self.now_text)

    def temporary_failure(self, claim: Claim, reason: str, code: int | None) -> DeliveryState:
        """Pending with a back-off, or `failed` after 8 attempts or 72 hours; the new state."""
        attempts = claim.attempts + 1
        first = claim.first_attempt_at or self.now_text
        too_old = self.now - from_utc_text(first) >= RETRY_MAX_AGE
        if attempts >= RETRY_MAX_ATTEMPTS or too_old:
            reason = gave_up(reason, attempts)
            self.record(claim, DeliveryState.FAILED, error=reason, code=code)
            return DeliveryState.FAILED
        self.record(
            claim,
            DeliveryState.PENDING,
            error=reason,
            code=code,
            next_at=next_attempt(attempts, self.now),
        )
        return DeliveryState.PENDING

    def retry(
        self,
        state: DeliveryState,
        reason: str,
        *,
        action: str | None = None,
        course: str | None = None,
        person: str | None = None,
    ) -> int:
        """Put `failed` or `unknown` deliveries back to pending, in one transaction, each with
        an event carrying the reason; their attempts start afresh. Returns how many."""
        with self.store.transaction() as conn:
            ids = conn.execute(
                "UPDATE deliveries SET state = :pending, attempts = 0, first_attempt_at = NULL, "
                "next_attempt_at = NULL, updated_at = :now WHERE state = :state "
                "AND (:a IS NULL OR action = :a) AND (:c IS NULL OR course_id = :c) "
                "AND (:p IS NULL OR person_id = :p) RETURNING id",
                {"pending": DeliveryState.PENDING, "now": self.now_text, "state": state,
                 "a": action, "c": course, "p": person},
            ).fetchall()  # fmt: skip
            detail = retried(state, reason)
            self._events(conn, [(row[0], DeliveryState.PENDING, detail) for row in ids])
        return len(ids)

    def mark(
        self,
        key: Key,
        state: DeliveryState,
        reason: str,
        *,
        force: bool = False,
        decided: Decided | None = None,
    ) -> str | None:
        """Set a delivery's state by hand, with the reason in its history; returns the state
        it had.

        Without `force` only what is not yet known to have reached the person changes
        (`pending`, `failed`, `unknown`); the same state again changes nothing. With no
        record, `decided` makes one `sent` (handed over another way) and None is returned.
        Anything else raises `MarkRefused`.
        """
        row = self.conn.execute(
            "SELECT id, state FROM deliveries WHERE action = ? AND course_id = ? AND person_id = ?",
            key,
        ).fetchone()
        if row is None:
            if state != DeliveryState.SENT or decided is None:
                raise MarkRefused(key, None, state)
            self._mark_new(decided, reason)
            return None
        delivery_id, current = row
        if current == state:
            return str(current)
        if current in HELD_BY_A_RUN or (current not in MARK_FREELY and not force):
            raise MarkRefused(key, current, state)
        detail = marked(current, reason)
        with self.store.transaction() as conn:
            error = detail if state == DeliveryState.FAILED else None
            self._put(conn, delivery_id, state, detail, error=error)
            issue_delivered(conn, self.now_text)
        return str(current)

    def _mark_new(self, decided: Decided, reason: str) -> None:
        """A record `sent` for a delivery handed over another way: no run sends it then."""
        with self.store.transaction() as conn:
            (delivery_id,) = conn.execute(
                "INSERT INTO deliveries (action, course_id, person_id, state, due_at, figures, "
                "import_id, sent_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (*decided.key, DeliveryState.SENT,
                 to_utc_text(decided.due_at) if decided.due_at else None,
                 self._figures(decided), self.import_id, self.now_text, self.now_text,
                 self.now_text),
            ).fetchone()  # fmt: skip
            detail = marked(None, reason)
            self._events(conn, [(delivery_id, DeliveryState.SENT, detail)])


def _recovered(state: str, delivered: bool | None) -> tuple[DeliveryState, str]:
    """Where a delivery a killed run left in `state` stands, and why, given what the
    transport tells of it (None: it cannot tell)."""
    if delivered is True:
        return DeliveryState.SENT, interrupted("found")
    if state == DeliveryState.CLAIMED:
        # not handed over, unless the transport shows it was (a file in the outbox)
        return DeliveryState.PENDING, interrupted("claimed")
    if delivered is False:
        return DeliveryState.PENDING, interrupted("unwritten")
    return DeliveryState.UNKNOWN, interrupted("handing")


class MarkRefused(CertifyError):
    """`mark` would change what is known to have been delivered, or resolved otherwise, or
    what a run holds in hand; `current` is the delivery's state (None: no record)."""

    def __init__(self, key: Key, current: str | None, wanted: str) -> None:
        action, course, person = key
        what = "no record" if current is None else current
        super().__init__(f"{action} for {course}/{person} is {what}: not marked {wanted}")
        self.key = key
        self.current = current
        self.wanted = wanted
