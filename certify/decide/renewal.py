"""Renewal reminders: actions timed `before: certificate_expiry` of another action.

One delivery per certificate of action `of`, keyed by that certificate's course and
person; due `offset` units before the end of its validity. What the register and the
enrollments say about the person decides whether it is still worth sending.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from certify.clock import add_to_date, from_utc_text, localize
from certify.config import Action, status_key
from certify.locale import _


@dataclass(frozen=True, slots=True)
class Held:
    """A certificate of the register as renewal sees it."""

    number: str
    action: str
    course_id: str
    person_id: str
    issued_on: str
    valid_until: date | None
    revoked: bool
    withdrawn: bool


@dataclass(frozen=True, slots=True)
class Booked:
    """An enrollment of a person in a course, with what renewal asks of the course."""

    course_id: str
    course_name: str
    course_type: str | None
    course_status: str
    end: datetime
    cancelled: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the register and the bookings say: an outcome to impose (None: the usual
    steps decide), the due moment, and the reason in words."""

    outcome: str | None
    due: datetime | None
    reason: str | None
    certificate: Held | None


def expiry_due(valid_until: date, offset: int, unit: str, at: time | None, tz: tzinfo) -> datetime:
    """`offset unit` before the end of the last valid day, at `at` local time.

    Calendar units count back from `valid_until` itself and `at` is the wall-clock time on
    the day that gives (the same 09:00 on either side of a clock change); without `at`,
    the start of that day. Hours count back from the midnight after the last valid day.
    """
    if unit == "hours":
        end = localize(datetime.combine(valid_until + timedelta(days=1), time()), tz)
        return (end.astimezone(UTC) - timedelta(hours=offset)).astimezone(tz)
    day = add_to_date(valid_until, -offset, unit)
    return localize(datetime.combine(day, at or time()), tz)


class Renewals:
    """The certificates of the renewed actions and their holders' bookings, read once."""

    def __init__(self, conn: sqlite3.Connection, actions: list[Action], every: list[Action]):
        renewed = sorted({a.timing.renews for a in actions if a.timing.renews})
        self._of = {a.id: a for a in every}
        self.current: dict[tuple[str, str, str], Held] = {}
        self.by_person: dict[tuple[str, str], list[Held]] = {}
        self.bookings: dict[str, list[Booked]] = {}
        if not renewed:
            return
        marks = ", ".join("?" * len(renewed))
        # a superseded certificate hands its reminder to its successor (same course and
        # person): only the certificate not superseded counts, so one reminder, never two
        rows = conn.execute(
            "SELECT number, action, course_id, person_id, issued_on, valid_until, "
            "revoked_at IS NOT NULL, withdrawn_at IS NOT NULL FROM certificates "
            f"WHERE action IN ({marks}) AND superseded_by IS NULL "
            "AND (issued_at IS NOT NULL OR source = 'imported') ORDER BY issued_on, number",
            renewed,
        )
        for number, action, course, person, issued, until, revoked, withdrawn in rows:
            held = Held(
                number,
                action,
                course,
                person,
                issued,
                date.fromisoformat(until) if until else None,
                bool(revoked),
                bool(withdrawn),
            )
            self.current[(action, course, person)] = held
            self.by_person.setdefault((action, person), []).append(held)
        if not self.by_person:
            return
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS renewal_holders (person_id TEXT)")
        conn.execute("DELETE FROM temp.renewal_holders")
        conn.executemany(
            "INSERT INTO temp.renewal_holders VALUES (?)",
            [(p,) for p in {person for _, person in self.by_person}],
        )
        for person, course, name, ctype, cstatus, end, status in conn.execute(
            'SELECT e.person_id, c.course_id, c.name, c.course_type, c.status, c."end", '
            "e.status FROM temp.renewal_holders h JOIN enrollments e ON e.person_id = h.person_id "
            "JOIN courses c ON c.course_id = e.course_id"
        ):
            self.bookings.setdefault(person, []).append(
                Booked(course, name, ctype, cstatus, from_utc_text(end), status == "cancelled")
            )

    def judge(
        self, action: Action, course_id: str, person_id: str, now: datetime, tz: tzinfo
    ) -> Verdict:
        of = action.timing.renews
        assert of is not None
        held = self.current.get((of, course_id, person_id))
        if held is None or held.valid_until is None:
            return Verdict("not_linked", None, no_certificate(of), None)
        t = action.timing
        due = expiry_due(held.valid_until, t.offset, t.unit, t.at_time, tz).astimezone(tz)
        if held.revoked or held.withdrawn:
            state = _("revoked") if held.revoked else _("withdrawn")
            return Verdict(
                "skipped",
                due,
                _("certificate {number} is {state}").format(number=held.number, state=state),
                held,
            )
        for other in self.by_person.get((of, person_id), ()):
            if (
                other is not held
                and not other.revoked
                and not other.withdrawn
                and other.valid_until is not None
                and other.valid_until > held.valid_until
            ):
                return Verdict(
                    "skipped",
                    due,
                    _(
                        "holds a newer certificate {number} (course {course}, valid until {until})"
                    ).format(number=other.number, course=other.course_id, until=other.valid_until),
                    held,
                )
        booked = self.refresher(of, held, now, tz)
        if booked is not None:
            return Verdict(
                "waiting",
                due,
                _("enrolled in the refresher course {course} ({name})").format(
                    course=booked.course_id, name=booked.course_name
                ),
                held,
            )
        return Verdict(None, due, None, held)

    def refresher(self, of: str, held: Held, now: datetime, tz: tzinfo) -> Booked | None:
        """A later course of one of the action's course types, not ended, not cancelled,
        the person enrolled in it and not cancelled: the refresher already booked."""
        action = self._of.get(of)
        bookings = self.bookings.get(held.person_id, ())
        ended = {b.course_id: b.end for b in bookings}
        since = ended.get(held.course_id)
        for booked in sorted(bookings, key=lambda b: b.end):
            if (
                booked.course_id != held.course_id
                and not booked.cancelled
                and status_key(booked.course_status) != "cancelled"
                and booked.end > now
                and (since is None or booked.end > since)
                and (action is None or action.links(booked.course_type))
            ):
                return booked
        return None


def no_certificate(of: str) -> str:
    return _("no certificate of action {of} for this course").format(of=of)


def due_line(due: str | None, offset: int, unit: str, of: str, at: str | None) -> str:
    """`due: 2027-09-24 09:00 CEST (6 weeks before certificate expiry of bhv, at 09:00)`."""
    if due is None:
        return _("due: not yet known (no certificate of {of})").format(of=of)
    timing = _("{offset} {unit} before certificate expiry of {of}").format(
        offset=offset, unit=unit, of=of
    )
    if at:
        timing += _(", at {at}").format(at=at)
    return _("due: {due} ({timing})").format(due=due, timing=timing)


__all__ = ["Booked", "Held", "Renewals", "Verdict", "expiry_due"]
