"""What the delivery log says, for people: counts, one delivery and its history, listings,
what needs attention and the command that settles it. Reads only; `DeliveryLog` writes."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from certify.clock import from_utc_text, to_utc_text
from certify.deliver.lookup import Key
from certify.deliver.state import DeliveryState, sql_list
from certify.errors import CertifyError, UsageError, did_you_mean
from certify.locale import _, ngettext
from certify.store.database import Store

STRUGGLING_ATTEMPTS = 3  # a pending delivery this many attempts old needs a look
_STUCK = (DeliveryState.FAILED, DeliveryState.UNKNOWN)  # no run moves these by itself
# needs the administrator: stuck, or keeps failing (`d`: deliveries)
_NEEDS_ATTENTION = (
    f"(d.state IN {sql_list(_STUCK)} OR "
    f"(d.state = '{DeliveryState.PENDING}' AND d.attempts >= {STRUGGLING_ATTEMPTS}))"
)


def attention_label(name: str) -> str:
    """A key of `History.attention` as people read it: `pending after 3 attempts`."""
    if name == str(DeliveryState.UNKNOWN):
        return _("unknown")
    if name == str(DeliveryState.FAILED):
        return _("failed")
    if name.startswith(str(DeliveryState.PENDING)):
        return ngettext(
            "pending after {count} attempt", "pending after {count} attempts", STRUGGLING_ATTEMPTS
        ).format(count=STRUGGLING_ATTEMPTS)
    return name


def command_that_settles(state: str, key: Key) -> str | None:
    """The command that settles a delivery in this state (or decided so), when one does."""
    action, course, person = key
    who = f"{action} --course {course} --person {person}"
    if state == DeliveryState.FAILED:
        return f'certify retry --state failed --action {who} --reason "..."'
    if state == DeliveryState.UNKNOWN:
        return f'certify mark {who} --as sent|failed --reason "..."'
    if state == DeliveryState.EXPIRED:
        return f'certify send {who} --force --reason "..."'
    # `retry_later` and `send` are the planner's words for a delivery still to be sent
    if state in (DeliveryState.PENDING, "retry_later", "send"):
        return f"certify send {who}"
    return None


class History:
    """The delivery log of one store, read for people (`certify log`, `status`, `explain`)."""

    def __init__(self, store: Store) -> None:
        self.conn = store.conn

    def sent_between(self, first: datetime, last: datetime) -> list[datetime]:
        """The moments deliveries were sent in [first, last), read through the state index."""
        return [
            from_utc_text(row[0])
            for row in self.conn.execute(
                "SELECT sent_at FROM deliveries WHERE state = ? AND sent_at >= ? AND sent_at < ?",
                (DeliveryState.SENT, to_utc_text(first), to_utc_text(last)),
            )
        ]

    def state_counts(self) -> dict[str, int]:
        """How many deliveries the log holds in each state."""
        return dict(self.conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state"))

    def oldest_pending(self) -> dict[str, Any] | None:
        """The pending delivery due longest ago, or None."""
        return _first_record(
            self.conn.execute(
                "SELECT action, course_id AS course, person_id AS person, due_at, attempts, "
                "last_error, next_attempt_at FROM deliveries WHERE state = ? "
                "ORDER BY due_at, id LIMIT 1",
                (DeliveryState.PENDING,),
            )
        )

    def find(self, key: Key) -> dict[str, Any] | None:
        """One delivery's record, or None when nothing was logged for it."""
        record = _first_record(
            self.conn.execute(
                "SELECT id, state, attempts, last_error, sent_at, message_id, "
                "certificate_number, figures, next_attempt_at FROM deliveries "
                "WHERE action = ? AND course_id = ? AND person_id = ?",
                key,
            )
        )
        if record is not None:
            record["figures"] = json.loads(record["figures"]) if record["figures"] else None
        return record

    def events(self, delivery_id: int) -> list[dict[str, Any]]:
        """A delivery's history, oldest first."""
        return [
            {"at": at, "state": state, "detail": detail}
            for at, state, detail in self.conn.execute(
                "SELECT at, state, detail FROM delivery_events WHERE delivery_id = ? ORDER BY id",
                (delivery_id,),
            )
        ]

    def listing(
        self,
        *,
        action: str | None = None,
        state: str | None = None,
        course: str | None = None,
        people: list[str] | None = None,
        needing_attention: bool = False,
    ) -> list[dict[str, Any]]:
        """The log, oldest change first, optionally for one action, state, course or persons,
        or only what needs attention."""
        # the name as the persons export has it now (a person removed since: none)
        cursor = self.conn.execute(
            "SELECT d.action, d.course_id AS course, d.person_id AS person, p.full_name AS name, "
            "d.email, d.state, d.attempts, d.last_error, d.sent_at, d.message_id, "
            "d.certificate_number, d.due_at, d.next_attempt_at, d.last_code, d.figures "
            "FROM deliveries d LEFT JOIN persons p ON p.person_id = d.person_id "
            "WHERE (:a IS NULL OR d.action = :a) AND (:s IS NULL OR d.state = :s) "
            "AND (:c IS NULL OR d.course_id = :c) "
            "AND (:p IS NULL OR d.person_id IN (SELECT value FROM json_each(:p))) "
            f"AND {_NEEDS_ATTENTION if needing_attention else '1'} "
            "ORDER BY coalesce(d.sent_at, d.updated_at), d.id",
            {
                "a": action,
                "s": state,
                "c": course,
                "p": json.dumps(people) if people is not None else None,
            },
        )
        names = [column[0] for column in cursor.description]
        result = []
        for row in cursor:
            item = dict(zip(names, row, strict=True))
            item["figures"] = json.loads(item["figures"]) if item["figures"] else None
            result.append(item)
        return result

    def check_filters(
        self, *, action: str | None, course: str | None, configured: list[str]
    ) -> None:
        """Raise when a filter of an empty listing names nothing there is: an action neither
        configured (`configured`) nor logged, a course neither imported nor logged. A typo
        must not read as "no deliveries"."""
        if action is not None and action not in configured and not self._logged("action", action):
            logged = [row[0] for row in self.conn.execute("SELECT DISTINCT action FROM deliveries")]
            known = sorted({*configured, *logged})
            raise UsageError(
                _("--action: unknown action {action} (known: {known}){did_you_mean}").format(
                    action=repr(action),
                    known=", ".join(known) or _("none yet"),
                    did_you_mean=did_you_mean(action, known),
                )
            )
        if course is not None:
            imported = self.conn.execute(
                "SELECT 1 FROM courses WHERE course_id = ?", (course,)
            ).fetchone()
            # a course an import removed since keeps its deliveries
            if imported is None and not self._logged("course_id", course):
                ids = [row[0] for row in self.conn.execute("SELECT course_id FROM courses")]
                raise CertifyError(
                    _("--course: no course {course} in the database{did_you_mean}").format(
                        course=repr(course), did_you_mean=did_you_mean(course, ids)
                    ),
                    hint=_("give a course_id as the courses export has it"),
                )

    def _logged(self, column: str, value: str) -> bool:
        query = f"SELECT 1 FROM deliveries WHERE {column} = ? LIMIT 1"
        return self.conn.execute(query, (value,)).fetchone() is not None

    def needing_attention(self) -> list[dict[str, Any]]:
        """The deliveries `attention` counts, as `listing` gives them: failed, unknown, then
        pending ones, each oldest change first."""
        rows = self.listing(needing_attention=True)
        order = (DeliveryState.FAILED, DeliveryState.UNKNOWN, DeliveryState.PENDING)
        return sorted(rows, key=lambda row: order.index(row["state"]))

    def attention(self) -> dict[str, int]:
        """What needs the administrator, over the whole log: unknown and failed deliveries,
        and pending ones `STRUGGLING_ATTEMPTS` attempts old."""
        counts = dict(
            self.conn.execute(
                f"SELECT d.state, count(*) FROM deliveries d WHERE {_NEEDS_ATTENTION} "
                "GROUP BY d.state"
            )
        )
        struggling = f"{DeliveryState.PENDING} after {STRUGGLING_ATTEMPTS} attempts"
        order = (DeliveryState.UNKNOWN, DeliveryState.FAILED, DeliveryState.PENDING)
        return {
            (struggling if state == DeliveryState.PENDING else str(state)): counts[state]
            for state in order
            if state in counts
        }


def _first_record(cursor: sqlite3.Cursor) -> dict[str, Any] | None:
    """The first row of a query as a mapping named by its columns, or None."""
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip((column[0] for column in cursor.description), row, strict=True))
