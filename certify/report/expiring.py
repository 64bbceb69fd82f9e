"""The report's "expiring in the next N days": certificates whose validity ends soon, with
whether a reminder went out and whether the person is booked on a refresher already."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from certify.clock import from_utc_text
from certify.config import Action, Config
from certify.decide.renewal import Held, Renewals
from certify.locale import _
from certify.words import action_title

DEFAULT_EXPIRING_DAYS = 60


@dataclass(frozen=True)
class Expiring:
    person: str
    person_id: str
    number: str
    action: str
    course: str
    course_id: str
    valid_until: str
    reminded: str  # "reminded on 2027-10-01", "not reminded yet", or renewed by which one
    refresher: str  # the course booked, or ""


def expiring(conn: sqlite3.Connection, config: Config, now: datetime, days: int) -> list[Expiring]:
    """Every certificate still valid today and valid no longer than `days` from now, the
    soonest end first."""
    tz = config.tz
    today = now.astimezone(tz).date()
    last = today + timedelta(days=days)
    rows = conn.execute(
        "SELECT c.number, c.action, c.course_id, c.person_id, c.course_name, "
        "c.issued_on, c.valid_until, coalesce(c.full_name, p.full_name, c.person_id) "
        "FROM certificates c LEFT JOIN persons p ON p.person_id = c.person_id "
        "WHERE c.valid_until BETWEEN ? AND ? AND c.superseded_by IS NULL "
        "AND c.revoked_at IS NULL AND c.withdrawn_at IS NULL "
        "AND (c.issued_at IS NOT NULL OR c.source = 'imported') "
        "ORDER BY c.valid_until, c.number",
        (today.isoformat(), last.isoformat()),
    ).fetchall()
    if not rows:
        return []
    by_action: dict[str, list[str]] = {}
    reminders: dict[str, list[Action]] = {}
    for action in config.actions:
        if action.timing.renews:
            by_action.setdefault(action.timing.renews, []).append(action.id)
            reminders.setdefault(action.timing.renews, []).append(action)
    renewals = Renewals(conn, config.actions, config.actions, now)
    titles = {a.id: action_title(a.name, a.id) for a in config.actions}
    found = []
    for number, action, course_id, person_id, course, issued, until, name in rows:
        held = renewals.held(action, course_id, person_id) or Held(
            number, action, course_id, person_id, issued, None, False, False
        )
        # the reminder of this certificate's course weighs only the courses of its types
        reminder = next((r for r in reminders.get(action, []) if r.links(held.course_type)), None)
        booked = renewals.refresher(action, held, now, tz, reminder)
        reminded = _reminded(conn, by_action.get(action, []), course_id, person_id, tz)
        newest = renewals.newest(action, person_id, reminder)
        if newest is not None and newest.valid_until and newest.valid_until.isoformat() > until:
            # renewed already: its reminder is skipped, and nobody needs to chase it
            renewed = _("renewed: holds {number}, valid until {until}").format(
                number=newest.number, until=newest.valid_until.isoformat()
            )
            reminded = renewed if reminded == _("not reminded yet") else f"{reminded}; {renewed}"
        found.append(
            Expiring(
                person=name,
                person_id=person_id,
                number=number,
                action=titles.get(action, action),  # as people read it, its name
                course=course,
                course_id=course_id,
                valid_until=until,
                reminded=reminded,
                refresher=f"{booked.course_name} ({booked.course_id})" if booked else "",
            )
        )
    return found


def _reminded(
    conn: sqlite3.Connection, reminders: list[str], course_id: str, person_id: str, tz: tzinfo
) -> str:
    if not reminders:
        return _("no reminder configured")
    marks = ", ".join("?" * len(reminders))
    row = conn.execute(
        "SELECT max(sent_at) FROM deliveries WHERE course_id = ? AND person_id = ? "
        f"AND action IN ({marks}) AND state IN ('sent', 'unknown')",
        (course_id, person_id, *reminders),
    ).fetchone()
    if row is None or row[0] is None:
        return _("not reminded yet")
    sent = from_utc_text(row[0])
    return _("reminded on {day}").format(day=sent.astimezone(tz).date().isoformat())
