"""Which deliveries are due at a given moment, and why not the others.

SQL computes every participant's figures in one pass over indexed tables; Python applies
the rules of `rules.py` to decide, action by action.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal

from certify import rules
from certify.clock import from_utc_text, to_utc_text
from certify.config import Action, Config
from certify.store import Store

Outcome = Literal[
    "send", "waiting", "not_due", "skipped", "expired", "done", "retry_later", "manual", "cancelled"
]
FINAL_STATES = ("sent", "failed", "unknown", "expired")


@dataclass(frozen=True)
class Course:
    id: str
    name: str
    status: str
    end: datetime
    threshold: int | None
    attendance_parts: int  # |R| under the configured basis
    pass_parts: int  # |Q|
    needed: int


@dataclass(frozen=True)
class Participant:
    course_id: str
    person_id: str
    status: str
    enrolled_at: datetime
    present_times: tuple[datetime, ...]
    passed_times: tuple[datetime, ...]
    failed_parts: int = 0  # parts of Q with a `passed = no` result
    delivery_states: tuple[str | None, ...] = ()  # per action asked for, the logged state


@dataclass(frozen=True)
class ExistingDelivery:
    id: int
    state: str
    due_at: str | None
    next_attempt_at: str | None
    attempts: int
    last_error: str | None


@dataclass
class Decision:
    action: Action
    course: Course
    participant: Participant
    outcome: Outcome
    due_at: datetime | None
    attendance: rules.AttendanceFigures
    passing: rules.PassFigures
    status_ok: bool
    waiting_on: list[str] = field(default_factory=list)
    existing: ExistingDelivery | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.action.id, self.course.id, self.participant.person_id)

    def figures(self, import_id: int | None) -> dict[str, Any]:
        a, p = self.attendance, self.passing
        return {
            "course_status": self.course.status,
            "attendance": {
                "present": a.present, "required_parts": a.required_parts,
                "percentage": a.percentage, "threshold": a.threshold,
                "needed": a.needed, "met": a.met,
            },
            "pass": {"passed": p.passed, "required_parts": p.required_parts, "met": p.met},
            "due_at": to_utc_text(self.due_at) if self.due_at else None,
            "import_id": import_id,
        }  # fmt: skip


@dataclass
class Plan:
    now: datetime
    since: dict[str, datetime]
    decisions: list[Decision]

    def by_outcome(self, outcome: Outcome) -> list[Decision]:
        return [d for d in self.decisions if d.outcome == outcome]

    def waiting_summary(self) -> Counter[str]:
        """How many deliveries wait on each reason, per action."""
        counts: Counter[str] = Counter()
        for decision in self.decisions:
            if decision.outcome in ("waiting", "not_due", "retry_later"):
                for reason in decision.waiting_on:
                    counts[f"{decision.action.id}: {reason}"] += 1
        return counts


def course_facts(conn: sqlite3.Connection, config: Config) -> dict[str, Course]:
    all_parts = config.settings.attendance_basis == "all_parts"
    courses: dict[str, Course] = {}
    for row in conn.execute(
        """
        SELECT c.course_id, c.name, c.status, c."end", t.attendance_percentage,
               coalesce(sum(p.attendance_required), 0), count(p.part_id),
               coalesce(sum(p.pass_required), 0)
        FROM courses c
        LEFT JOIN course_types t ON t.course_type = c.course_type
        LEFT JOIN parts p ON p.course_id = c.course_id
        GROUP BY c.course_id
        """
    ):
        course_id, name, status, end, threshold, required, total, pass_parts = row
        attendance_parts = (total if required else 0) if all_parts else required
        pct = 100 if threshold is None else threshold
        needed = rules.attendance_needed(attendance_parts, pct) if attendance_parts else 0
        courses[course_id] = Course(
            course_id, name, status, from_utc_text(end), threshold, attendance_parts, pass_parts,
            needed,
        )  # fmt: skip
    return courses


_PARTICIPANTS_SQL = """
WITH att AS (
    SELECT p.course_id, a.person_id, group_concat(a.registered_at) AS times
    FROM attendance a JOIN parts p ON p.part_id = a.part_id
    WHERE a.present = 1 AND (p.attendance_required = 1 OR :all_parts)
    {att_filter}
    GROUP BY p.course_id, a.person_id
), pas AS (
    SELECT p.course_id, r.person_id,
           group_concat(CASE WHEN r.passed = 1 THEN r.registered_at END) AS times,
           sum(r.passed = 0) AS failed
    FROM results r JOIN parts p ON p.part_id = r.part_id
    WHERE p.pass_required = 1
    {pas_filter}
    GROUP BY p.course_id, r.person_id
)
SELECT e.course_id, e.person_id, e.status, coalesce(e.enrolled_at, e.first_seen_at),
       att.times, pas.times, coalesce(pas.failed, 0) {states}
FROM enrollments e
LEFT JOIN att ON att.course_id = e.course_id AND att.person_id = e.person_id
LEFT JOIN pas ON pas.course_id = e.course_id AND pas.person_id = e.person_id
WHERE 1 {filter}
"""


def _times(text: str | None) -> tuple[datetime, ...]:
    if not text:
        return ()
    return tuple(from_utc_text(part) for part in text.split(","))


def participants(
    conn: sqlite3.Connection,
    config: Config,
    *,
    course_id: str | None = None,
    person_id: str | None = None,
    exclude_finished: list[tuple[str, str | None]] | None = None,
    states_of: list[str] | None = None,
) -> Iterator[Participant]:
    """Every enrollment with its figures, in one query.

    `exclude_finished` lists (action id, since) pairs: enrollments whose delivery is final
    for every one of them are left out, so a steady-state tick only looks at open work.
    """
    params: dict[str, Any] = {"all_parts": int(config.settings.attendance_basis == "all_parts")}
    conditions = []
    if course_id is not None:
        conditions.append("e.course_id = :course_id")
        params["course_id"] = course_id
    if person_id is not None:
        conditions.append("e.person_id = :person_id")
        params["person_id"] = person_id
    if exclude_finished:
        finished = []
        for index, (action_id, since) in enumerate(exclude_finished):
            params[f"a{index}"] = action_id
            params[f"s{index}"] = since
            finished.append(
                f"EXISTS (SELECT 1 FROM deliveries d WHERE d.action = :a{index} "
                "AND d.course_id = e.course_id AND d.person_id = e.person_id "
                f"AND (d.state IN {FINAL_STATES!r} "
                f"OR (d.state = 'skipped' AND :s{index} IS NOT NULL AND d.due_at < :s{index})))"
            )
        conditions.append("NOT (" + " AND ".join(finished) + ")")
    states = ""
    for index, action_id in enumerate(states_of or []):
        params[f"st{index}"] = action_id
        states += (
            f", (SELECT d.state FROM deliveries d WHERE d.action = :st{index} "
            "AND d.course_id = e.course_id AND d.person_id = e.person_id)"
        )
    joined = "".join(f" AND {c}" for c in conditions)
    narrow = ""
    if course_id is not None:
        narrow += " AND p.course_id = :course_id"
    if person_id is not None:
        narrow += " AND {alias}.person_id = :person_id"
    sql = _PARTICIPANTS_SQL.format(
        filter=joined,
        states=states,
        att_filter=narrow.format(alias="a"),
        pas_filter=narrow.format(alias="r"),
    )
    for row in conn.execute(sql, params):
        yield Participant(
            row[0],
            row[1],
            row[2],
            from_utc_text(row[3]),
            _times(row[4]),
            _times(row[5]),
            row[6],
            tuple(row[7:]),
        )


def existing_deliveries(
    conn: sqlite3.Connection, action_ids: list[str]
) -> dict[tuple[str, str, str], ExistingDelivery]:
    marks = ", ".join("?" * len(action_ids))
    return {
        (row[0], row[1], row[2]): ExistingDelivery(*row[3:])
        for row in conn.execute(
            "SELECT action, course_id, person_id, id, state, due_at, next_attempt_at, attempts, "
            f"last_error FROM deliveries WHERE action IN ({marks}) "
            "AND state NOT IN ('sent', 'failed', 'unknown', 'expired')",
            action_ids,
        )
    }


def recorded_since(conn: sqlite3.Connection) -> dict[str, datetime]:
    return {
        action: from_utc_text(since)
        for action, since in conn.execute("SELECT action, since FROM action_since")
    }


def effective_since(
    config: Config, action: Action, recorded: dict[str, datetime], now: datetime
) -> datetime:
    """The explicit `since`, else the first sending run's `now` (recorded), else this `now`."""
    return config.since_moment(action) or recorded.get(action.id) or now


def _anchor(action: Action, course: Course, participant: Participant,
            att: rules.AttendanceFigures, passing: rules.PassFigures) -> datetime | None:  # fmt: skip
    after = action.timing.after
    if after == "course_end":
        return course.end
    if after == "participant_added":
        return participant.enrolled_at
    return rules.requirements_met_at(
        att, passing, action.conditions.attendance, action.conditions.pass_,
        participant.enrolled_at,
    )  # fmt: skip


class Planner:
    """Decides, for one run's moment, what happens to each (action, participant)."""

    def __init__(self, config: Config, now: datetime, since: dict[str, datetime]) -> None:
        self.config = config
        self.tz: tzinfo = config.tz
        self.now = now
        self.since = since
        self._course_due: dict[tuple[str, str], datetime] = {}

    def due_at(self, action: Action, course: Course, participant: Participant,
               att: rules.AttendanceFigures, passing: rules.PassFigures) -> datetime | None:  # fmt: skip
        timing = action.timing
        if timing.after == "course_end":
            # the same for every participant of the course: compute it once
            key = (action.id, course.id)
            if key not in self._course_due:
                self._course_due[key] = self._due(action, course.end)
            return self._course_due[key]
        anchor = _anchor(action, course, participant, att, passing)
        return None if anchor is None else self._due(action, anchor)

    def _due(self, action: Action, anchor: datetime) -> datetime:
        t = action.timing
        return rules.due_moment(
            anchor, rules.Timing(t.after, t.offset, t.unit, t.at_time), self.tz
        ).astimezone(self.tz)

    def decide(
        self,
        action: Action,
        course: Course,
        participant: Participant,
        existing: ExistingDelivery | None,
    ) -> Decision:
        att = rules.attendance_figures(
            course.attendance_parts, participant.present_times, course.threshold
        )
        passing = rules.pass_figures(course.pass_parts, participant.passed_times)
        wanted = action.conditions.course_status
        status_ok = wanted is None or course.status in wanted
        decision = Decision(action, course, participant, "waiting", None, att, passing, status_ok,
                            existing=existing)  # fmt: skip
        decision.due_at = self.due_at(action, course, participant, att, passing)
        if existing is not None and existing.state in FINAL_STATES:
            decision.outcome = "done"
            return decision
        if participant.status == "cancelled":
            decision.outcome = "cancelled"
            decision.waiting_on.append("enrollment cancelled")
            return decision
        if decision.due_at is None:
            decision.waiting_on.extend(self._unmet(action, decision))
            return decision
        if decision.due_at < self.since[action.id]:
            decision.outcome = "skipped"
            return decision
        if action.execution == "manual":
            decision.outcome = "manual"
            decision.waiting_on.append("manual action: sent only by `certify send`")
            return decision
        if decision.due_at > self.now:
            decision.outcome = "not_due"
            decision.waiting_on.append("not yet due")
            return decision
        unmet = self._unmet(action, decision)
        if unmet:
            decision.waiting_on.extend(unmet)
            return decision
        expire = action.expire_after
        if expire is not None and rules.is_expired(
            decision.due_at, self.now, expire.amount, expire.unit, self.tz
        ):
            decision.outcome = "expired"
            return decision
        if (
            existing is not None
            and existing.next_attempt_at
            and (from_utc_text(existing.next_attempt_at) > self.now)
        ):
            decision.outcome = "retry_later"
            decision.waiting_on.append("retry after a temporary failure")
            return decision
        decision.outcome = "send"
        return decision

    @staticmethod
    def _unmet(action: Action, decision: Decision) -> list[str]:
        reasons = []
        wanted = action.conditions.course_status
        if not decision.status_ok and wanted is not None:
            reasons.append(f"course status {decision.course.status!r}, needs {' or '.join(wanted)}")
        a, p = decision.attendance, decision.passing
        if not rules.condition_holds(action.conditions.attendance, a.met):
            if action.conditions.attendance == "yes":
                reasons.append(
                    f"attendance: present {a.present} of {a.required_parts}, needs {a.needed}"
                )
            else:
                reasons.append("attendance requirement met (action is for not_met)")
        if not rules.condition_holds(action.conditions.pass_, p.met):
            if action.conditions.pass_ == "yes":
                failed = decision.participant.failed_parts
                if failed:
                    reasons.append(f"pass: failed {failed} of {p.required_parts}")
                else:
                    reasons.append(f"pass: passed {p.passed} of {p.required_parts}, no result yet")
            else:
                reasons.append("pass requirement met (action is for not_met)")
        return reasons


def make_plan(
    store: Store,
    config: Config,
    now: datetime,
    *,
    actions: list[Action] | None = None,
    course_id: str | None = None,
    person_id: str | None = None,
    include_finished: bool = False,
    since_override: dict[str, datetime] | None = None,
) -> Plan:
    """Decide every (action, participant) at `now`; only reads the store."""
    conn = store.conn
    chosen = actions if actions is not None else config.actions
    recorded = recorded_since(conn)
    since = {a.id: effective_since(config, a, recorded, now) for a in chosen}
    if since_override:
        since.update(since_override)
    courses = course_facts(conn, config)
    existing = existing_deliveries(conn, [a.id for a in chosen]) if chosen else {}
    finished: list[tuple[str, str | None]] | None = None
    if not include_finished and chosen:
        finished = [(a.id, to_utc_text(since[a.id])) for a in chosen]
    planner = Planner(config, now, since)
    decisions = []
    finals = _final_deliveries(conn, course_id, person_id) if include_finished else {}
    for participant in participants(
        conn, config, course_id=course_id, person_id=person_id, exclude_finished=finished,
        states_of=[a.id for a in chosen],
    ):  # fmt: skip
        course = courses[participant.course_id]
        for index, action in enumerate(chosen):
            key = (action.id, participant.course_id, participant.person_id)
            known = existing.get(key) or finals.get(key)
            state = participant.delivery_states[index]
            if known is None and state in FINAL_STATES:
                # final for this action while another action is still open for the person
                known = ExistingDelivery(0, state, None, None, 0, None)
            decisions.append(planner.decide(action, course, participant, known))
    return Plan(now, since, decisions)


def _final_deliveries(
    conn: sqlite3.Connection, course_id: str | None, person_id: str | None
) -> dict[tuple[str, str, str], ExistingDelivery]:
    return {
        (row[0], row[1], row[2]): ExistingDelivery(*row[3:])
        for row in conn.execute(
            "SELECT action, course_id, person_id, id, state, due_at, next_attempt_at, attempts, "
            "last_error FROM deliveries WHERE (:c IS NULL OR course_id = :c) "
            "AND (:p IS NULL OR person_id = :p)",
            {"c": course_id, "p": person_id},
        )
    }


def figures_json(decision: Decision, import_id: int | None) -> str:
    return json.dumps(decision.figures(import_id))
