"""What falls due in the next days, and who is at risk of missing a requirement."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from certify.config import Config
from certify.decide import rules
from certify.decide.decisions import Decision
from certify.decide.facts import part_registrations


class Moments(Protocol):
    """How the page writes a day and a moment (the report's clock, in the manager's zone)."""

    def day(self, moment: datetime) -> str:
        """A day, as `Thu 5 Nov`."""
        ...

    def moment(self, moment: datetime) -> str:
        """A moment, as `Fri 6 Nov, 09:00`."""
        ...


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


def forecast(
    decisions: list[tuple[Decision, str]],
    anchors: dict[str, str],
    labels: dict[str, str],
    now: datetime,
    horizon: datetime,
    clock: Moments,
) -> list[Forecast]:
    """Per due moment, course and action: how many fall due and how many qualify today."""
    groups: dict[tuple[datetime, str, str], list[Decision]] = defaultdict(list)
    for decision, kind in decisions:
        due = decision.due_at
        if kind in ("not_due", "due") and due is not None and due <= horizon:
            groups[(due, decision.course.id, decision.action.id)].append(decision)
    rows = []
    for (due, course_id, action_id), group in sorted(groups.items()):
        ready = sum(1 for decision in group if _conditions_hold(decision))
        notes = []
        if not group[0].status_ok:
            wanted = group[0].action.conditions.course_status or []
            notes.append(
                f"course status is '{group[0].course.status}'; it must become "
                f"'{' or '.join(wanted)}'"
            )
        rows.append(
            Forecast(
                due=f"now (due since {clock.moment(due)})" if due <= now else clock.moment(due),
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
    decisions: list[tuple[Decision, str]],
    anchors: dict[str, str],
    labels: dict[str, str],
    names: dict[str, str],
    now: datetime,
    horizon: datetime,
    clock: Moments,
) -> list[Risk]:
    """Participants short of a requirement of an action that is due soon or already waits."""
    short: dict[tuple[str, str], list[Decision]] = defaultdict(list)
    for decision, kind in decisions:
        due = decision.due_at
        soon = kind == "not_due" and due is not None and due <= horizon
        if (kind == "waiting" or soon) and any(_shortfall(decision)):
            short[(decision.course.id, decision.participant.person_id)].append(decision)
    if not short:
        return []
    ends = {course_id: group[0].course.end for (course_id, _), group in short.items()}
    open_parts = _open_parts(conn, config, list(short), now, ends, clock)
    found = []
    for key, group in short.items():
        first = group[0]
        a, p = first.attendance, first.passing
        attendance_short = any(_shortfall(d)[0] for d in group)
        pass_short = any(_shortfall(d)[1] for d in group)
        parts = open_parts[key]
        shortfall, still_open = [], []
        possible = True
        retake = False
        if attendance_short:
            shortfall.append(
                f"attendance: present {a.present} of {a.required_parts}, needs {a.needed}"
            )
            open_count = len(parts.attendance_to_come) + len(parts.attendance_unregistered)
            possible = possible and a.present + open_count >= a.needed
            if parts.attendance_to_come:
                still_open.append(_parts_text(parts.attendance_to_come, "still to come"))
            if parts.attendance_unregistered:
                still_open.append(
                    _parts_text(parts.attendance_unregistered, "attendance not registered yet")
                )
        if pass_short:
            failed = first.participant.failed_parts
            shortfall.append(
                f"pass: passed {p.passed} of {p.required_parts}"
                + (f", failed {failed}" if failed else "")
            )
            if parts.results_missing:
                still_open.append(_parts_text(parts.results_missing, "no result yet"))
            if p.passed + len(parts.results_missing) < p.required_parts:
                retake = True
        if not possible:
            verdict, text = "impossible", "No longer possible"
        elif retake:
            verdict, text = "retake", "Only with a retake"
        else:
            verdict, text = "possible", "Still possible"
        dues = [d.due_at for d in group if d.due_at is not None]
        found.append(
            Risk(
                course_anchor=anchors[first.course.id],
                course=first.course.name,
                person=names.get(first.participant.person_id, first.participant.person_id),
                person_id=first.participant.person_id,
                actions=", ".join(dict.fromkeys(labels[d.action.id] for d in group)),
                due=(
                    ("due since " if min(dues) <= now else "due ") + clock.moment(min(dues))
                    if dues
                    else "when the requirements are met"
                ),
                shortfall=shortfall,
                still_open="; ".join(still_open) or "nothing left to register",
                verdict=verdict,
                verdict_text=text,
            )
        )
    order = {"possible": 0, "retake": 1, "impossible": 2}
    found.sort(key=lambda risk: (order[risk.verdict], risk.course, risk.person.casefold()))
    return found


def _conditions_hold(decision: Decision) -> bool:
    conditions = decision.action.conditions
    return (
        decision.status_ok
        and rules.condition_holds(conditions.attendance, decision.attendance.met)
        and rules.condition_holds(conditions.pass_, decision.passing.met)
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
    clock: Moments,
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


def _parts_text(parts: list[str], what: str) -> str:
    if len(parts) > 3:  # a course of many modules: the first two say enough
        return f"{what}: {len(parts)} parts ({parts[0]}, {parts[1]} and {len(parts) - 2} more)"
    return f"{what}: {', '.join(parts)}"
