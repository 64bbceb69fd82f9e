"""Renewal reminders: actions timed `before: certificate_expiry` of another action.

One delivery per certificate of action `of`, keyed by that certificate's course and
person; due `offset` units before the end of its validity. What the register and the
enrollments say about the person decides whether it is still worth sending.

Two ways of deciding, held together by a property test: `Renewals.decide_all` decides
every certificate of the register at once (the plan of a whole run), and `due`,
`objection` and `refresher` decide one person's (explain, a person's or a course's plan,
a delivery already logged), reading that person alone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from certify.clock import add_to_date, from_utc_text, localize, to_utc_text
from certify.config import Action, status_key
from certify.decide import rules
from certify.decide.steps import Outcome
from certify.locale import _


class Held(NamedTuple):
    """A certificate of the register as renewal sees it."""

    number: str
    action: str
    course_id: str
    person_id: str
    issued_on: str
    valid_until: date | None
    revoked: bool
    withdrawn: bool
    course_type: str | None = None  # of its course, for a reminder linked to course types


@dataclass(frozen=True, slots=True)
class Booked:
    """An enrollment of a person in a course, with what renewal asks of the course."""

    course_id: str
    course_name: str
    course_type: str | None
    course_status: str
    end: datetime
    cancelled: bool


# A reminder decided in bulk: (outcome, due moment, reason). The reason LATER stands for
# one worded only when someone reads it (revoked, or a newer certificate: its number is
# read then), so a run with 100,000 such reminders words none of them.
Reminder = tuple[Outcome, datetime | None, str | None]
LATER = "(worded when read)"
# a certificate that shares its course and person with another of the same action (an
# imported one issued again, say): decided one by one, as the person's path picks one
ONE_BY_ONE: Reminder = ("not_linked", None, None)

# the certificates renewal counts: a superseded certificate hands its reminder to its
# successor (same course and person), so only the one not superseded counts: one
# reminder, never two
_CURRENT = "superseded_by IS NULL AND (issued_at IS NOT NULL OR source = 'imported')"
# the type of a certificate's course: a reminder with `course_types` weighs only those
_TYPE = "(SELECT course_type FROM courses WHERE courses.course_id = certificates.course_id)"
# a refresher is a course that has not ended: only those are read (a run after the last
# course has ended reads none). For everyone, from the courses (CROSS JOIN keeps SQLite
# from walking every enrollment); for one person, from their enrollments.
_BOOKINGS = (
    'SELECT e.person_id, c.course_id, c.name, c.course_type, c.status, c."end", e.status '
    'FROM courses c {join} enrollments e ON e.course_id = c.course_id WHERE c."end" > ?'
)
_BOOKINGS_ORDER = ' ORDER BY c."end", c.course_id'


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


def timed_outcome(
    action: Action, due: datetime, since: datetime, now: datetime, tz: tzinfo
) -> Outcome:
    """The steps every action takes (steps.py) for a reminder with nothing logged, its
    enrollment standing and a certificate to remind of: what its due moment decides."""
    if due < since:
        return "skipped"
    if action.execution == "manual":
        return "manual"
    if due > now:
        return "not_due"
    expire = action.expire_after
    if expire is not None and rules.is_expired(due, now, expire.amount, expire.unit, tz):
        return "expired"
    return "send"


def _booking(row: tuple[str, str, str, str | None, str, str, str | None]) -> Booked:
    _person, course, name, ctype, cstatus, end, status = row
    return Booked(course, name, ctype, cstatus, from_utc_text(end), status == "cancelled")


class Renewals:
    """The register and the bookings as renewal reads them: all at once for a run's plan
    (`decide_all`), or one person's at a time, each read once."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        actions: list[Action],
        every: list[Action],
        now: datetime | None = None,
        *,
        everyone: bool = False,
    ) -> None:
        """`everyone`: read every holder's register and bookings at once, for a caller that
        asks of most persons one by one (the report); else each person's when first asked."""
        self._conn = conn
        self._renewed = sorted({a.timing.renews for a in actions if a.timing.renews})
        self._of = {a.id: a for a in every}
        self._since = to_utc_text(now) if now is not None else ""
        # per person: their certificates of the renewed actions, and their bookings
        self._people: dict[str, tuple[list[Held], list[Booked]]] = {}
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
        self._everyone = everyone
        if everyone:
            self._read_everyone()

    # -- one person ----------------------------------------------------------------------------

    def _person(self, person_id: str) -> tuple[list[Held], list[Booked]]:
        """The person's certificates of the renewed actions (in the order issued) and their
        bookings in courses not ended (the soonest end first), read once."""
        known = self._people.get(person_id)
        if known is not None:
            return known
        if self._everyone:
            return [], []  # neither a certificate nor a booking
        held = self._held(person_id)
        bookings = [
            _booking(row)
            for row in self._conn.execute(
                _BOOKINGS.format(join="JOIN") + " AND e.person_id = ?" + _BOOKINGS_ORDER,
                (self._since, person_id),
            )
        ]
        known = self._people[person_id] = (held, bookings)
        return known

    def _read_everyone(self) -> None:
        people = self._people
        for held in self._held(None):
            people.setdefault(held.person_id, ([], []))[0].append(held)
        everyone = _BOOKINGS.format(join="CROSS JOIN") + _BOOKINGS_ORDER
        for row in self._conn.execute(everyone, (self._since,)):
            people.setdefault(row[0], ([], []))[1].append(_booking(row))

    def _held(self, person_id: str | None) -> list[Held]:
        """The certificates of the renewed actions, of one person or of everyone, in the
        order issued."""
        if not self._renewed:
            return []
        marks = ", ".join("?" * len(self._renewed))
        one = " AND person_id = ?" if person_id is not None else ""
        rows = self._conn.execute(
            "SELECT number, action, course_id, person_id, issued_on, valid_until, "
            f"revoked_at IS NOT NULL, withdrawn_at IS NOT NULL, {_TYPE} FROM certificates "
            f"WHERE action IN ({marks}) AND {_CURRENT}{one} ORDER BY issued_on, number",
            (*self._renewed, person_id) if one else self._renewed,
        )
        return [
            Held(number, action, course, person, issued,
                 date.fromisoformat(until) if until else None, bool(revoked), bool(withdrawn),
                 ctype)
            for number, action, course, person, issued, until, revoked, withdrawn, ctype in rows
        ]  # fmt: skip

    def held(self, of: str, course_id: str, person_id: str) -> Held | None:
        """The person's certificate of action `of` for this course (of two, the one issued
        last); None when there is none."""
        found = None
        for held in self._person(person_id)[0]:
            if held.action == of and held.course_id == course_id:
                found = held
        return found

    def due(
        self, action: Action, course_id: str, person_id: str, tz: tzinfo
    ) -> tuple[Held | None, datetime | None]:
        """The certificate a reminder is for, and when the reminder is due; (None, None)
        when the person holds no certificate of that course, or one valid for ever."""
        of = action.timing.renews
        assert of is not None
        held = self.held(of, course_id, person_id)
        if held is None or held.valid_until is None:
            return None, None
        return held, self._due(action, held.valid_until, tz)

    def _due(self, action: Action, valid_until: date, tz: tzinfo) -> datetime:
        t = action.timing
        key = (valid_until, t.offset, t.unit, t.at)
        due = self._dues.get(key)
        if due is None:
            due = expiry_due(valid_until, t.offset, t.unit, t.at_time, tz)
            due = self._dues[key] = due.astimezone(tz)
        return due

    def objection(
        self, held: Held, now: datetime, tz: tzinfo, reminder: Action | None = None
    ) -> tuple[Outcome, str] | None:
        """Why a reminder that is due is not sent: (outcome, reason); None: send it.

        Asked only of reminders that are due, so a run reads few of them."""
        if held.revoked or held.withdrawn:
            words = self._words
            state = words["revoked"] if held.revoked else words["withdrawn"]
            return "skipped", words["state"].format(number=held.number, state=state)
        until = held.valid_until
        assert until is not None
        newest = self.newest(held.action, held.person_id, reminder)
        if newest is not None and newest.valid_until is not None and newest.valid_until > until:
            return "skipped", self._words["newer"].format(
                number=newest.number, course=newest.course_id, until=newest.valid_until
            )
        booked = self.refresher(held.action, held, now, tz, reminder)
        if booked is not None:
            return "waiting", self._booked(booked)
        return None

    def newest(self, of: str, person_id: str, reminder: Action | None = None) -> Held | None:
        """The person's certificate of `of` valid the longest, neither revoked nor
        withdrawn (of two, the one issued last); of a course the reminder acts on."""
        valid = [
            h
            for h in self._person(person_id)[0]
            if h.action == of
            and not h.revoked
            and not h.withdrawn
            and h.valid_until
            and (reminder is None or reminder.links(h.course_type))
        ]
        return max(valid, key=lambda h: (h.valid_until, h.issued_on, h.number), default=None)

    def refresher(
        self, of: str, held: Held, now: datetime, tz: tzinfo, reminder: Action | None = None
    ) -> Booked | None:
        """A later course of one of the action's course types, not ended, not cancelled,
        the person enrolled in it and not cancelled: the refresher already booked."""
        return self._refresher(self._person(held.person_id)[1], of, held.course_id, now, reminder)

    def _refresher(
        self,
        bookings: list[Booked],
        of: str,
        course_id: str,
        now: datetime,
        reminder: Action | None = None,
    ) -> Booked | None:
        action = self._of.get(of)
        for booked in bookings:
            if (
                booked.course_id != course_id
                and not booked.cancelled
                and status_key(booked.course_status) != "cancelled"
                and booked.end > now
                and (action is None or action.links(booked.course_type))
                and (reminder is None or reminder.links(booked.course_type))
            ):
                return booked
        return None

    def _by_day(
        self, action: Action, until: str, since: datetime, now: datetime, tz: tzinfo
    ) -> tuple[Reminder, Reminder | None]:
        """The reminder of a certificate valid until this day; when it is due now, also the
        same reminder skipped (for a certificate revoked or renewed), its reason worded when
        read."""
        due = self._due(action, date.fromisoformat(until), tz)
        outcome = timed_outcome(action, due, since, now, tz)
        due_now = outcome == "send" or outcome == "expired"
        return (outcome, due, None), ("skipped", due, LATER) if due_now else None

    def _booked(self, booked: Booked) -> str:
        return self._words["booked"].format(course=booked.course_id, name=booked.course_name)

    # -- every certificate at once -------------------------------------------------------------

    def decide_all(
        self, action: Action, since: datetime, now: datetime, tz: tzinfo
    ) -> dict[str, dict[str, Reminder]]:
        """Every certificate of the action's `of` decided at once, by course and person:
        what `Planner.decide` says of each with nothing logged and the enrollment standing.

        One read of the register; the due moment and what it decides are worked out once
        per end of validity (certificates share few), and only a reminder that is due asks
        whether the certificate was revoked, a newer one is held or a refresher booked.
        """
        of = action.timing.renews
        assert of is not None
        typed = action.course_types is not None  # weighs only certificates of its courses
        rows = self._conn.execute(
            "SELECT course_id, person_id, valid_until, "
            "revoked_at IS NOT NULL OR withdrawn_at IS NOT NULL"
            + (f", {_TYPE}" if typed else "")
            + f" FROM certificates WHERE action = ? AND {_CURRENT}",
            (of,),
        ).fetchall()
        if typed:
            rows = [row[:4] for row in rows if action.links(row[4])]
        # per person, the end of the longest validity of a certificate neither revoked nor
        # withdrawn (ISO dates compare as text): a due reminder of an earlier one is skipped
        newest: dict[str, str] = {}
        for _course, person, until, gone in rows:
            if until and not gone and until > newest.get(person, ""):
                newest[person] = until
        bookings: dict[str, list[Booked]] = {}
        everyone = _BOOKINGS.format(join="CROSS JOIN") + _BOOKINGS_ORDER
        for row in self._conn.execute(everyone, (self._since,)):
            bookings.setdefault(row[0], []).append(_booking(row))
        no_validity: Reminder = ("not_linked", None, no_certificate(of))
        # per end of validity: the reminder, and when it is due now, the same one skipped
        by_day: dict[str, tuple[Reminder, Reminder | None]] = {}
        decided: dict[str, dict[str, Reminder]] = {}
        persons: dict[str, Reminder] = {}
        last_course = None
        newest_of = newest.get
        for course, person, until, gone in rows:
            if not until:
                reminder: Reminder = no_validity
            else:
                day = by_day.get(until)
                if day is None:
                    day = by_day[until] = self._by_day(action, until, since, now, tz)
                reminder, skipped = day
                if skipped is not None:  # due: revoked, a newer one, a refresher booked?
                    if gone or newest_of(person, "") > until:
                        reminder = skipped
                    elif person in bookings:
                        booked = self._refresher(bookings[person], of, course, now, action)
                        if booked is not None:
                            reminder = ("waiting", reminder[1], self._booked(booked))
            if course != last_course:  # the register lists a course's certificates together
                last_course = course
                persons = decided.setdefault(course, {})
            held = len(persons)
            persons[person] = reminder
            if len(persons) == held:  # a second certificate of this course and person
                persons[person] = ONE_BY_ONE
        return decided


def no_certificate(of: str) -> str:
    return _("no certificate of action {of} for this course").format(of=of)


__all__ = ["LATER", "ONE_BY_ONE", "Booked", "Held", "Reminder", "Renewals", "expiry_due"]
