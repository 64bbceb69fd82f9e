"""Which deliveries are due at a given moment, and why not the others.

The facts (`facts.py`) give every participant's counts in one pass over indexed tables;
each participant is decided by `decisions.py`. Actions anchored on the course end are
decided a whole course at a time: a course's due moment is every participant's, so
history and courses still to come are settled without judging anyone one by one, and in
the courses in between two booleans per participant pick the outcome from a table worked
out once per course (`verdicts.py`). A `Decision` is made only for what someone reads.
"""

from __future__ import annotations

import gc
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, get_args

from certify import words
from certify.clock import to_utc_text
from certify.config import Action, Config
from certify.decide import quiet, rules
from certify.decide.decisions import Decision, Planner, condition_reasons, effective_since
from certify.decide.facts import (
    Course,
    CourseEnd,
    EnrollmentRow,
    Participant,
    ParticipantReader,
    course_ends,
    course_facts,
    enrolled_counts,
    participant_rows,
)
from certify.decide.renewal import Renewals
from certify.decide.steps import Outcome
from certify.decide.verdicts import CourseVerdicts, Outcomes
from certify.deliver.lookup import DeliveryLookup, ExistingDelivery, Key
from certify.store.database import Store

# A participant decided by their course alone (course_end actions), kept this small until
# someone reads the decision: (outcome, index of the action, the participant's row as read,
# or the participant when registration moments were read too). Plain tuples of strings and
# numbers: the cyclic garbage collector stops tracking them, so 400,000 of them cost it
# nothing, where as many objects would be walked again at every collection.
Judged = tuple[Outcome, int, EnrollmentRow | Participant]
# What a dry run that only lists needs of a decision: (action id, course id, person id,
# due moment).
Listed = tuple[str, str, str, datetime | None]


class Plan:
    """Every (action, participant) decision of a run at `now`, grouped by outcome.

    Most participants are decided by their course's verdict and two booleans; their
    `Decision` is made only when someone reads it (`by_outcome`, `decisions`), and the
    reasons they wait on are worded once per distinct set of counts.
    """

    def __init__(
        self,
        now: datetime,
        since: dict[str, datetime],
        actions: list[Action],
        courses: dict[str, Course],
        verdicts: CourseVerdicts,
        with_times: bool,
    ) -> None:
        self.now = now
        self.since = since
        # a dry run's actions that no real run has switched on: taken as switched on then
        self.switched_on: dict[str, datetime] = {}
        # Whole courses decided at once (course_end actions): per action, the courses whose
        # due moment lies before `since` and whose participants are still to be recorded as
        # skipped, with that due moment; and how many participants wait for a due moment
        # still to come.
        self.course_skips: dict[str, dict[str, datetime]] = {}
        self.not_due_elsewhere = 0
        # False when judging stopped once enough were due (`enough`): the counts of the
        # other outcomes then cover only the participants judged so far
        self.complete = True
        self._actions = actions
        self._courses = courses
        self._verdicts = verdicts
        self._read = ParticipantReader(with_times)
        # in the order judged (participants as read, then actions as configured), and the
        # positions of each outcome's among them
        self._entries: list[Decision | Judged] = []
        # (as machine integers: 400,000 Python ints would take 30 bytes each)
        self._positions = {outcome: array("l") for outcome in get_args(Outcome)}
        self._made: list[Decision | None] = []  # the decisions made of judged entries
        self._decided: dict[str, list[Decision]] = {}
        self._last: tuple[EnrollmentRow | Participant | None, Participant | None] = (None, None)

    def add(self, decision: Decision) -> None:
        """A decision made participant by participant."""
        self._positions[decision.outcome].append(len(self._entries))
        self._entries.append(decision)

    @property
    def decisions(self) -> list[Decision]:
        """Every decision, in the order judged."""
        return self._decisions(range(len(self._entries)))

    def count(self, outcome: str) -> int:
        """How many decisions have this outcome, without making them."""
        return len(self._positions.get(outcome, ()))

    def by_outcome(self, outcome: str, limit: int | None = None) -> list[Decision]:
        """The decisions with this outcome, in the order judged; the first `limit` only
        (and only they are made: `run-due --limit 5000` of 200,000 due)."""
        decided = self._decided.get(outcome)
        if decided is not None:
            return decided[:limit] if limit is not None else decided
        positions = self._positions.get(outcome, array("l"))
        if limit is not None:
            return self._decisions(positions[:limit])
        decided = self._decided[outcome] = self._decisions(positions)
        return decided

    def listed(self, outcome: str) -> list[Listed]:
        """(action id, course id, person id, due moment) of each decision with this outcome,
        in the order judged, without making the decisions: a dry run that only lists."""
        entries, verdicts = self._entries, self._verdicts.cache
        ids = [action.id for action in self._actions]
        listed: list[Listed] = []
        append = listed.append
        with cyclic_collection_paused():
            for position in self._positions.get(outcome, ()):
                entry = entries[position]
                if isinstance(entry, Decision):
                    append((*entry.key, entry.due_at))
                    continue
                _, index, judged = entry
                course_id = judged.course_id
                append((ids[index], course_id, judged.person_id, verdicts[index][course_id].due))
        return listed

    def waiting_summary(self) -> Counter[str]:
        """How many deliveries wait on each reason, per action."""
        entries, actions, kind_of = self._entries, self._actions, self._verdicts.kind_of
        # Tallied by (action id, reasons) in the order first met: the same reasons in the
        # same order as counting decision by decision. A participant the course's verdict
        # leaves waiting is tallied by what decides the wording (the action, the kind of
        # course, the counts), worded once per distinct one.
        tally: dict[tuple[str, tuple[str, ...]], int] = {}
        worded: dict[tuple[Any, ...], tuple[str, tuple[str, ...]]] = {}
        with cyclic_collection_paused():
            for outcome in ("waiting", "not_due", "retry_later"):
                reason = words.fixed_reason(outcome)
                fixed = (reason,) if reason is not None else ()
                for position in self._positions.get(outcome, ()):
                    entry = entries[position]
                    if isinstance(entry, Decision):
                        key = (entry.action.id, tuple(entry.waiting_on))
                    elif outcome != "waiting":
                        key = (actions[entry[1]].id, fixed)
                    else:
                        _, index, judged = entry
                        counts = _counts(index, kind_of(judged.course_id), judged)
                        found = worded.get(counts)
                        if found is None:
                            found = worded[counts] = self._worded(index, judged)
                        key = found
                    tally[key] = tally.get(key, 0) + 1
        summary: Counter[str] = Counter()
        for (action_id, reasons), number in tally.items():
            for reason in reasons:
                summary[f"{action_id}: {reason}"] += number
        return summary

    def _worded(
        self, index: int, judged: EnrollmentRow | Participant
    ) -> tuple[str, tuple[str, ...]]:
        """(action id, reasons) of a participant the course's verdict leaves waiting."""
        action, participant = self._actions[index], self._participant(judged)
        course = self._courses[participant.course_id]
        status_ok = self._verdicts.of(index, course).status_ok
        present, passed, failed = participant.present, participant.passed, participant.failed_parts
        return action.id, condition_reasons(action, course, status_ok, present, passed, failed)

    def _decisions(self, positions: Iterable[int]) -> list[Decision]:
        """The decisions at these positions; a judged entry's is made once, from its
        course's verdict."""
        entries, courses, actions = self._entries, self._courses, self._actions
        verdicts = self._verdicts.cache  # every judged entry's verdict is in it
        made = self._made
        if not made:
            made.extend([None] * len(entries))
        decisions: list[Decision] = []
        append = decisions.append
        with cyclic_collection_paused():
            for position in positions:
                entry = entries[position]
                if isinstance(entry, Decision):
                    append(entry)
                    continue
                decision = made[position]
                if decision is None:
                    outcome, index, judged = entry
                    participant = self._participant(judged)
                    course_id = judged.course_id
                    verdict = verdicts[index][course_id]
                    decision = made[position] = Decision(
                        actions[index],
                        courses[course_id],
                        participant,
                        outcome,
                        verdict.due,
                        verdict.status_ok,
                    )
                append(decision)
        return decisions

    def _participant(self, judged: EnrollmentRow | Participant) -> Participant:
        """The participant of a judged entry; the actions of one row share it."""
        row, participant = self._last
        if judged is not row or participant is None:
            participant = judged if isinstance(judged, Participant) else self._read(judged)
            self._last = (judged, participant)
        return participant

    def judge(
        self,
        planner: Planner,
        rows: Iterator[EnrollmentRow],
        look_up: bool,
        logged: bool,
        existing: dict[Key, ExistingDelivery],
        finals: dict[Key, ExistingDelivery],
        enough: int | None = None,
    ) -> None:
        """Every row's decision for every action, in the order read: most from the course's
        verdict and two booleans, the rest (cancelled, already logged, other anchors) by
        `Planner.decide`; with `enough`, until that many are due to be sent."""
        read, courses, verdicts = self._read, self._courses, self._verdicts
        entries, positions = self._entries, self._positions
        with_times = read.with_times
        indexed = list(enumerate(self._actions))
        # nothing logged to look up and every action anchored on the course end: a row that is
        # not cancelled is decided by its course's table alone
        # (renewal reminders aside: they are decided by the register, row by row below)
        renewing = [(i, a) for i, a in indexed if a.timing.renews is not None]
        held = planner.renewals.current if planner.renewals is not None else {}
        by_course_alone = (
            not look_up
            and not logged
            and all(
                fast or action.timing.renews
                for fast, action in zip(verdicts.fast, self._actions, strict=True)
            )
        )
        last_course: str | None = None
        least_present = least_passed = 0
        tables: Outcomes = []
        indexed_tables: list[tuple[int, tuple[Outcome, Outcome, Outcome, Outcome]]] = []
        course = None
        due_now = positions["send"]
        for row in rows:
            if enough is not None and len(due_now) >= enough:
                self.complete = False  # this row and any after it wait for the next run
                break
            course_id = row.course_id
            if course_id != last_course:  # rows come course by course: their constants once each
                last_course = course_id
                course = courses[course_id]
                least_present, least_passed, tables = verdicts.outcomes(course)
                indexed_tables = [(i, outcomes) for i, outcomes in enumerate(tables) if outcomes]
            assert course is not None
            participant = read(row) if with_times else None
            judged: EnrollmentRow | Participant = participant or row
            if participant is not None:
                present, passed = participant.present, participant.passed
            else:
                results = row.results
                present, passed = row.present, results.count("1") if results else 0
            # the two booleans that decide, as `Course.attendance_met` and `pass_met` say
            met = 2 * (present >= least_present) + (passed >= least_passed)
            cancelled = row.status == "cancelled"
            if by_course_alone and not cancelled:
                for index, outcomes in indexed_tables:
                    outcome = outcomes[met]
                    positions[outcome].append(len(entries))
                    entries.append((outcome, index, judged))
                for _, action in renewing:
                    # no certificate of this course: nothing, no record (as not linked)
                    if (action.timing.renews, course_id, row.person_id) in held:
                        participant = participant or read(row)
                        self.add(planner.decide(action, course, participant, None))
                continue
            states = row.logged_states()
            for index, action in indexed:
                known = None
                if look_up:
                    key = (action.id, course_id, row.person_id)
                    known = existing.get(key) or finals.get(key)
                state = states[index] if states else None
                if known is None and state is not None:
                    # e.g. final for this action while another action is still open for the person
                    known = ExistingDelivery(0, state, None, None, 0, None)
                table = tables[index]
                if known is None and not cancelled and table is not None:
                    # the same course-level checks as Planner.decide, looked up instead of redone
                    outcome = table[met]
                    positions[outcome].append(len(entries))
                    entries.append((outcome, index, judged))
                else:
                    participant = participant or read(row)
                    self.add(planner.decide(action, course, participant, known))


@contextmanager
def cyclic_collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while the plan makes its many small objects.

    None of them refers back to another, so none can be in a cycle; but CPython's collector,
    started every 700 new objects, would walk all of those made so far again and again
    (half the time of judging 200,000 participants).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _counts(index: int, kind: int, judged: EnrollmentRow | Participant) -> tuple[Any, ...]:
    """What decides the reasons a participant waits on: the action, the kind of course and
    the counts (of a row: present, and the results as read)."""
    if isinstance(judged, Participant):
        return index, kind, judged.present, judged.passed, judged.failed_parts
    return index, kind, judged.present, judged.results


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
    enough: int | None = None,
    switch_on: datetime | None = None,
) -> Plan:
    """Decide every (action, participant) at `now`; only reads the store.

    `switch_on` (a dry run's real time) is when an action that no real run has switched on
    yet counts from, rather than `now`; `Plan.switched_on` names those actions.

    With `enough`, judging stops once that many deliveries are due to be sent (a run that
    may send only so many need not judge a backlog of years to the end).
    """
    conn = store.conn
    log = DeliveryLookup(store)
    chosen = actions if actions is not None else config.actions
    action_ids = [a.id for a in chosen]
    recorded = log.recorded_since()
    since = {a.id: effective_since(config, a, recorded, switch_on or now) for a in chosen}
    fresh = [a.id for a in chosen if switch_on and a.since is None and a.id not in recorded]
    if since_override:
        since.update(since_override)
    existing = log.in_motion(action_ids)
    # nothing logged yet for these actions (say, before switching one on): no state to read
    logged = log.any_logged(action_ids)
    finished: list[tuple[str, str | None]] | None = None
    if not include_finished and logged:
        finished = [(a.id, to_utc_text(since[a.id])) for a in chosen]
    planner = Planner(config, now, since)
    if any(a.timing.renews for a in chosen):
        planner.renewals = Renewals(conn, chosen, config.actions, now)
    finals = log.of(course_id, person_id) if include_finished else {}
    window: list[str] | None = None
    skips: dict[str, dict[str, datetime]] = {}
    not_due = 0
    if (
        course_id is None
        and person_id is None
        and not include_finished
        and chosen
        and all(a.timing.after == "course_end" for a in chosen)
    ):
        # only the window's courses are read in full: a tick reads few
        window, skips, not_due = _prune_courses(store, log, planner, chosen)
        courses = course_facts(conn, config, window)
    elif course_id is not None:
        courses = course_facts(conn, config, [course_id])
    else:
        courses = course_facts(conn, config)
        if person_id is None and not include_finished:
            window = _linked_courses(planner, chosen, courses)
    verdicts = CourseVerdicts(planner, chosen, courses)
    # registration moments only when an anchor needs them, or for one participant
    with_times = person_id is not None or any(a.timing.after == "requirements_met" for a in chosen)
    plan = Plan(now, since, chosen, courses, verdicts, with_times)
    plan.course_skips, plan.not_due_elsewhere = skips, not_due
    plan.switched_on = {key: since[key] for key in fresh}
    look_up = bool(existing or finals)
    rows = participant_rows(
        conn,
        config,
        course_id=course_id,
        person_id=person_id,
        exclude_finished=finished,
        states_of=action_ids if logged else None,
        course_ids=window,
        with_times=with_times,
    )
    with cyclic_collection_paused():
        plan.judge(planner, rows, look_up, logged, existing, finals, enough)
    return plan


def _linked_courses(
    planner: Planner, actions: list[Action], courses: dict[str, Course]
) -> list[str] | None:
    """The courses at least one action acts on; None when that is every course.

    A course no action is linked to gets nothing and no record: its participants are not
    read at all, so a tick does not judge them again and again.
    """
    if all(action.course_types is None for action in actions):
        return None
    return [
        course.id
        for course in courses.values()
        if any(planner.linked(action, course) for action in actions)
    ]


def _prune_courses(
    store: Store, log: DeliveryLookup, planner: Planner, actions: list[Action]
) -> tuple[list[str], dict[str, dict[str, datetime]], int]:
    """With course_end actions only, a course's due moment is its participants' due moment.

    A course whose due moment lies before an action's `since` is history for it (every
    participant skipped, recorded once per course); one whose due moment is still to come
    has nobody due. Only courses in between need their participants judged: so a cron tick
    looks at the recent courses, not at years of history.

    Returns the courses to judge (the window), per action the history still to be recorded
    skipped (course → due moment), and how many participants wait for a due moment still
    to come.
    """
    # The due moment mostly never decreases as the course end grows (offsets, `at` and the
    # daylight saving rules keep order; `rules.ends_keep_due_order` says when not, and then
    # they are sorted by due moment), so courses split into history, window and future by
    # binary search: a tick computes few due moments.
    ordered = [] if quiet.all_history_recorded(store, planner, actions) else course_ends(store.conn)
    window_ids: set[str] = set()
    history: list[tuple[Action, list[CourseEnd]]] = []
    future: list[CourseEnd] = []  # per action, the courses due after `now`
    for action in actions:

        def due(course: CourseEnd, action: Action = action) -> datetime:
            return planner.course_due(action, course)

        # a course the action is not linked to is none of its history, window or future
        linked = (
            ordered
            if action.course_types is None
            else [course for course in ordered if planner.linked(action, course)]
        )
        t = action.timing
        timing = rules.Timing(t.after or "", t.offset, t.unit, t.at_time)
        day_ends = any(c.end_is_date for c in linked)
        timed_ends = not all(c.end_is_date for c in linked)
        if not rules.ends_keep_due_order(timing, timed_ends=timed_ends, day_ends=day_ends):
            linked = sorted(linked, key=due)  # then each due moment is computed, once
        first_covered = bisect_left(linked, planner.since[action.id], key=due)
        # with `since` still to come, a course due before it is history, not future
        first_future = max(bisect_right(linked, planner.now, key=due), first_covered)
        history.append((action, linked[:first_covered]))
        window_ids.update(course.id for course in linked[first_covered:first_future])
        future.extend(linked[first_future:])
    # their participants are counted, not judged (a tick, long after the last course, asks
    # nothing)
    not_due = 0
    if future:
        enrolled = enrolled_counts(store.conn, {course.id for course in future})
        not_due = sum(enrolled.get(course.id, 0) for course in future)
    recorded = log.course_skips() if any(before for _, before in history) else {}
    # courses judged participant by participant decide their own skips
    skips: dict[str, dict[str, datetime]] = {}
    for action, courses_before in history:
        since = to_utc_text(planner.since[action.id])
        skips[action.id] = {
            course.id: planner.course_due(action, course)
            for course in courses_before
            if course.id not in window_ids and recorded.get((action.id, course.id)) != since
        }
    window = [course.id for course in ordered if course.id in window_ids]
    return window, skips, not_due
