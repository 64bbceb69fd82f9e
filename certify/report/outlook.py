"""What falls due in the next days, and who is at risk of missing a requirement."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from certify import words
from certify.config import Config
from certify.decide.decisions import Decision
from certify.report.clock import ReportClock
from certify.report.roster import part_registrations


@dataclass(frozen=True)
class Forecast:
    """Deliveries of one action and course that fall due at one moment."""

    due: str
    course_anchor: str
    course: str
    action: str
    participants: int
    ready: int
    not_ready: int
    note: str


@dataclass(frozen=True)
class Risk:
    """A participant who does not (yet) meet a requirement of an action due soon or due."""

    course_anchor: str
    course: str
    person: str
    person_id: str
    actions: str
    due: str
    shortfall: list[str]
    still_open: str
    verdict: str  # "possible", "impossible", "retake"
    verdict_text: str


@dataclass(frozen=True)
class Scope:
    """What the report looks ahead from: the shown courses' decisions (each with its kind,
    as the page counts it), up to the horizon, and how the page names and writes things."""

    decisions: list[tuple[Decision, str]]
    anchors: dict[str, str]  # course id → the page's anchor of its section
    labels: dict[str, str]  # action id → its name on the page
    now: datetime
    horizon: datetime
    clock: ReportClock


def forecast(scope: Scope) -> list[Forecast]:
    """Per due moment, course and action: how many fall due and how many qualify today."""
    anchors, labels, now, clock = scope.anchors, scope.labels, scope.now, scope.clock
    groups: dict[tuple[datetime, str, str], list[Decision]] = defaultdict(list)
    for decision, kind in scope.decisions:
        due = decision.due_at
        if kind in ("not_due", "due") and due is not None and due <= scope.horizon:
            groups[(due, decision.course.id, decision.action.id)].append(decision)
    rows = []
    for (due, course_id, action_id), group in sorted(groups.items()):
        ready = sum(1 for decision in group if decision.qualifies)
        notes = []
        if not group[0].status_ok:
            wanted = group[0].action.conditions.course_status or []
            notes.append(words.status_must_become(group[0].course.status, wanted))
        rows.append(
            Forecast(
                due=words.forecast_due(clock.moment(due), due <= now),
                course_anchor=anchors[course_id],
                course=group[0].course.name,
                action=labels[action_id],
                participants=len(group),
                ready=ready,
                not_ready=len(group) - ready,
                note="; ".join(notes),
            )
        )
    return rows


def risks(
    conn: sqlite3.Connection,
    config: Config,
    scope: Scope,
    names: dict[str, str],
    starts: dict[str, datetime | None],
) -> list[Risk]:
    """Participants short of a requirement of an action that is due soon or already waits.

    Nobody is at risk in a course that has not started (by `starts`, course id → start):
    every requirement is still to come.
    """
    now, horizon = scope.now, scope.horizon
    short: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for decision, kind in scope.decisions:
        due = decision.due_at
        start = starts.get(decision.course.id)
        if start is not None and start > now:
            continue
        soon = kind == "not_due" and due is not None and due <= horizon
        if (kind == "waiting" or soon) and any(_shortfall(decision)):
            short[(decision.course.id, decision.participant.person_id)].append(decision)
    if not short:
        return []
    ends = {course_id: group[0].course.end for (course_id, _), group in short.items()}
    open_parts = _open_parts(conn, config, list(short), now, ends, scope.clock)
    found = [_risk(scope, names, group, open_parts[key]) for key, group in short.items()]
    order = {"possible": 0, "retake": 1, "impossible": 2}
    found.sort(key=lambda risk: (order[risk.verdict], risk.course, risk.person.casefold()))
    return found


def _risk(scope: Scope, names: dict[str, str], group: list[Decision], parts: _OpenParts) -> Risk:
    """One participant at risk: what they fall short of, what is still open, and whether
    the requirements can still be met."""
    first = group[0]
    a, p = first.attendance, first.passing
    attendance_short = any(_shortfall(d)[0] for d in group)
    pass_short = any(_shortfall(d)[1] for d in group)
    shortfall, still_open = [], []
    possible = True
    retake = False
    if attendance_short:
        shortfall.append(words.attendance_short(a.present, a.required_parts, a.needed))
        open_count = len(parts.attendance_to_come) + len(parts.attendance_unregistered)
        possible = a.present + open_count >= a.needed
        if parts.attendance_to_come:
            still_open.append(words.open_parts(parts.attendance_to_come, words.parts_to_come()))
        if parts.attendance_unregistered:
            still_open.append(
                words.open_parts(parts.attendance_unregistered, words.parts_unregistered())
            )
    if pass_short:
        shortfall.append(
            words.pass_short(p.passed, p.required_parts, first.participant.failed_parts)
        )
        if parts.results_missing:
            still_open.append(words.open_parts(parts.results_missing, words.results_missing()))
        if p.passed + len(parts.results_missing) < p.required_parts:
            retake = True
    verdict = "impossible" if not possible else "retake" if retake else "possible"
    dues = [d.due_at for d in group if d.due_at is not None]
    earliest = min(dues) if dues else None
    return Risk(
        course_anchor=scope.anchors[first.course.id],
        course=first.course.name,
        person=names.get(first.participant.person_id, first.participant.person_id),
        person_id=first.participant.person_id,
        actions=", ".join(dict.fromkeys(scope.labels[d.action.id] for d in group)),
        due=words.risk_due(
            scope.clock.moment(earliest) if earliest is not None else None,
            earliest is not None and earliest <= scope.now,
        ),
        shortfall=shortfall,
        still_open="; ".join(still_open) or words.nothing_open(),
        verdict=verdict,
        verdict_text=words.risk_verdict(verdict),
    )


def _shortfall(decision: Decision) -> tuple[bool, bool]:
    """Which requirements the action checks (`yes`) that the participant does not meet."""
    conditions = decision.action.conditions
    return (
        conditions.attendance == "yes" and not decision.attendance.met,
        conditions.pass_ == "yes" and not decision.passing.met,
    )


@dataclass(frozen=True)
class _OpenParts:
    """Per participant: the required parts nothing is registered for yet."""

    attendance_to_come: list[str]
    attendance_unregistered: list[str]
    results_missing: list[str]


def _open_parts(
    conn: sqlite3.Connection,
    config: Config,
    who: list[tuple[str, str]],
    now: datetime,
    ends: dict[str, datetime],
    clock: ReportClock,
) -> dict[tuple[str, str], _OpenParts]:
    """Which required parts each of these participants has no attendance or result for.

    A part still to come is one that starts after `now` (or has no date while its course
    runs on); a past part without a registration may simply not be registered yet.
    """
    to_come: dict[tuple[str, str], list[str]] = defaultdict(list)
    unregistered: dict[tuple[str, str], list[str]] = defaultdict(list)
    missing: dict[tuple[str, str], list[str]] = defaultdict(list)
    for part in part_registrations(conn, config, who):
        key = (part.course_id, part.person_id)
        begins = part.start
        if part.attendance_counts and not part.attended:
            coming = begins > now if begins else ends[part.course_id] > now
            where = to_come if coming else unregistered
            where[key].append(f"{part.name} ({clock.day(begins)})" if begins else part.name)
        if part.pass_required and not part.has_result:
            missing[key].append(part.name)
    return {
        key: _OpenParts(to_come.get(key, []), unregistered.get(key, []), missing.get(key, []))
        for key in who
    }
