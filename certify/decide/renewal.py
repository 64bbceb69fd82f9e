"""Renewal reminders: actions timed `before: certificate_expiry` of another action.

One delivery per certificate of action `of`, keyed by that certificate's course and
person; due `offset` units before the end of its validity. What the register and the
enrollments say about the person decides whether it is still worth sending.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from certify.clock import add_to_date, from_utc_text, localize, to_utc_text
from certify.config import Action, status_key
from certify.locale import _
from certify.words import span


class Held(NamedTuple):
    """A certificate of the register as renewal sees it (a tuple: one per certificate of
    the register is made per plan)."""

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

    def __init__(
        self,
        conn: sqlite3.Connection,
        actions: list[Action],
        every: list[Action],
        now: datetime | None = None,
    ) -> None:
        renewed = sorted({a.timing.renews for a in actions if a.timing.renews})
        self._of = {a.id: a for a in every}
        self.current: dict[tuple[str, str, str], Held] = {}
        self.by_person: dict[tuple[str, str], list[Held]] = {}
        self.bookings: dict[str, list[Booked]] = {}
        # worded once per run, not once per reminder (tens of thousands may be due)
        self._words = {
            "revoked": _("revoked"),
            "withdrawn": _("withdrawn"),
            "state": _("certificate {number} is {state}"),
            "newer": _("holds a newer certificate {number} (course {course}, valid until {until})"),
            "booked": _("enrolled in the refresher course {course} ({name})"),
        }
        # certificates share few end dates: their due moments are worked out once each
        self._dues: dict[tuple[date, int, str, str | None], datetime] = {}
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
        days: dict[str, date] = {}
        for number, action, course, person, issued, until, revoked, withdrawn in rows:
            day = None
            if until:
                day = days.get(until)
                if day is None:
                    day = days[until] = date.fromisoformat(until)
            held = Held(number, action, course, person, issued, day, bool(revoked), bool(withdrawn))
            self.current[(action, course, person)] = held
            self.by_person.setdefault((action, person), []).append(held)
        if not self.by_person:
            return
        holders = {person for _, person in self.by_person}
        # a refresher is a course that has not ended: only those are read (a run after the
        # last course has ended reads none)
        for person, course, name, ctype, cstatus, end, status in conn.execute(
            'SELECT e.person_id, c.course_id, c.name, c.course_type, c.status, c."end", '
            "e.status FROM courses c JOIN enrollments e ON e.course_id = c.course_id "
            'WHERE c."end" > ?',
            (to_utc_text(now) if now is not None else "",),
        ):
            if person in holders:
                self.bookings.setdefault(person, []).append(
                    Booked(course, name, ctype, cstatus, from_utc_text(end), status == "cancelled")
                )

    def due(
        self, action: Action, course_id: str, person_id: str, tz: tzinfo
    ) -> tuple[Held | None, datetime | None]:
        """The certificate a reminder is for, and when the reminder is due; (None, None)
        when the person holds no certificate of that course."""
        of = action.timing.renews
        assert of is not None
        held = self.current.get((of, course_id, person_id))
        if held is None or held.valid_until is None:
            return None, None
        t = action.timing
        key = (held.valid_until, t.offset, t.unit, t.at)
        due = self._dues.get(key)
        if due is None:
            due = expiry_due(held.valid_until, t.offset, t.unit, t.at_time, tz)
            due = self._dues[key] = due.astimezone(tz)
        return held, due

    def objection(self, held: Held, now: datetime, tz: tzinfo) -> tuple[str, str] | None:
        """Why a reminder that is due is not sent: (outcome, reason); None: send it.

        Asked only of reminders that are due, so a run reads few of them."""
        if held.revoked or held.withdrawn:
            words = self._words
            state = words["revoked"] if held.revoked else words["withdrawn"]
            return "skipped", words["state"].format(number=held.number, state=state)
        until = held.valid_until
        assert until is not None
        for other in self.by_person.get((held.action, held.person_id), ()):
            if (
                other.number != held.number
                and not other.revoked
                and not other.withdrawn
                and other.valid_until is not None
                and other.valid_until > until
            ):
                return "skipped", self._words["newer"].format(
                    number=other.number, course=other.course_id, until=other.valid_until
                )
        booked = self.refresher(held.action, held, now, tz)
        if booked is not None:
            return "waiting", self._words["booked"].format(
                course=booked.course_id, name=booked.course_name
            )
        return None

    def refresher(self, of: str, held: Held, now: datetime, tz: tzinfo) -> Booked | None:
        """A later course of one of the action's course types, not ended, not cancelled,
        the person enrolled in it and not cancelled: the refresher already booked."""
        action = self._of.get(of)
        for booked in sorted(self.bookings.get(held.person_id, ()), key=lambda b: b.end):
            if (
                booked.course_id != held.course_id
                and not booked.cancelled
                and status_key(booked.course_status) != "cancelled"
                and booked.end > now
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
    timing = _("{span} before certificate expiry of {of}").format(span=span(offset, unit), of=of)
    if at:
        timing += _(", at {at}").format(at=at)
    return _("due: {due} ({timing})").format(due=due, timing=timing)


__all__ = ["Booked", "Held", "Renewals", "expiry_due"]
