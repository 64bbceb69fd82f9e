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
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, get_args

from certify import words
from certify.clock import to_utc_text
from certify.config import Action, Config
from certify.decide.decisions import Decision, Planner, condition_reasons, effective_since
from certify.decide.facts import (
    Course,
    EnrollmentRow,
    Participant,
    ParticipantReader,
    course_facts,
    participant_rows,
)
from certify.decide.renewal import LATER, ONE_BY_ONE, Reminder, Renewals, no_certificate
from certify.decide.steps import Outcome
from certify.decide.verdicts import CourseVerdicts, Outcomes
from certify.decide.window import linked_courses, prune_courses
from certify.deliver.lookup import DeliveryLookup, ExistingDelivery, Key
from certify.store.database import Store

# A participant decided by their course alone (course_end actions), kept this small until
# someone reads the decision: (outcome, index of the action, the participant's row as read,
# or the participant when registration moments were read too). Plain tuples of strings and
# numbers: the cyclic garbage collector stops tracking them, so 400,000 of them cost it
# nothing, where as many objects would be walked again at every collection.
Judged = tuple[Outcome, int, EnrollmentRow | Participant]
# A renewal reminder decided with the whole register (renewal.py), as small: a judged
# entry with its own due moment and reason.
Reminded = tuple[Outcome, int, EnrollmentRow | Participant, datetime | None, str | None]
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
        self._entries: list[Decision | Judged | Reminded] = []
        # (as machine integers: 400,000 Python ints would take 30 bytes each)
        self._positions = {outcome: array("l") for outcome in get_args(Outcome)}
        self._made: list[Decision | None] = []  # the decisions made of judged entries
        self._decided: dict[str, list[Decision]] = {}
        self._last: tuple[EnrollmentRow | Participant | None, Participant | None] = (None, None)
        self._planner: Planner | None = None  # words a reminder's reason when it is read

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

    def count_unlogged(self, outcome: str) -> int:
        """How many decisions have this outcome with nothing logged for them yet, without
        making them (only a participant decided one by one can have something logged)."""
        entries = self._entries
        return sum(
            1
            for position in self._positions.get(outcome, ())
            if not isinstance(entry := entries[position], Decision) or entry.existing is None
        )

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
                index, judged = entry[1], entry[2]
                course_id = judged.course_id
                due = entry[3] if len(entry) == 5 else verdicts[index][course_id].due
                append((ids[index], course_id, judged.person_id, due))
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
                    elif len(entry) == 5:  # a reminder: its reason, or the outcome's
                        key = (actions[entry[1]].id, (entry[4],) if entry[4] else fixed)
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
        entries = self._entries
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
                    decision = made[position] = self._decision(entry)
                append(decision)
        return decisions

    def _decision(self, entry: Judged | Reminded) -> Decision:
        """The decision of a judged entry, from its course's verdict or its reminder."""
        outcome, index, judged = entry[0], entry[1], entry[2]
        participant = self._participant(judged)
        course = self._courses[judged.course_id]
        action = self._actions[index]
        if len(entry) == 5:
            due, note = entry[3], entry[4]
            if note is LATER:  # a reason read from the person's register, as explain does
                assert self._planner is not None
                return self._planner.decide(action, course, participant, None)
            decision = Decision(action, course, participant, outcome, due, True)
            decision.note = note
            return decision
        verdict = self._verdicts.cache[index][course.id]
        return Decision(action, course, participant, outcome, verdict.due, verdict.status_ok)

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
        bulk: bool = True,
    ) -> None:
        """Every row's decision for every action, in the order read: most from the course's
        verdict and two booleans, the rest (cancelled, already logged, other anchors) by
        `Planner.decide`; with `enough`, until that many are due to be sent."""
        read, courses, verdicts = self._read, self._courses, self._verdicts
        entries, positions = self._entries, self._positions
        self._planner = planner
        with_times = read.with_times
        indexed = list(enumerate(self._actions))
        # Renewal reminders are decided with the whole register at once, by course and person
        # (with `bulk` False, one by one: a person's or a course's plan reads only theirs).
        renewing = {
            i: planner.reminders(a) for i, a in indexed if bulk and a.timing.renews is not None
        }
        none_held: dict[int, Reminder] = {
            i: ("not_linked", None, no_certificate(a.timing.renews or ""))
            for i, a in indexed
            if i in renewing
        }
        reminders: list[tuple[int, dict[str, Reminder]]] = []
        one_by_one = [(i, a) for i, a in indexed if not bulk and a.timing.renews is not None]
        # nothing logged to look up and every action anchored on the course end: a row that is
        # not cancelled is decided by its course's table alone (reminders by the register)
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
                reminders = [
                    (i, held.get(course_id, {}))
                    for i, held in renewing.items()
                    if self._actions[i].links(course.course_type)  # its `course_types`
                ]
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
                for index, persons in reminders:
                    # no certificate of this course: nothing, no record (as not linked)
                    reminder = persons.get(row.person_id)
                    if reminder is ONE_BY_ONE:
                        participant = participant or read(row)
                        self.add(planner.decide(self._actions[index], course, participant, None))
                    elif reminder is not None:
                        positions[reminder[0]].append(len(entries))
                        entries.append((reminder[0], index, judged, reminder[1], reminder[2]))
                for _, action in one_by_one:
                    assert planner.renewals is not None
                    if planner.renewals.held(action.timing.renews or "", course_id, row.person_id):
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
                if known is None and index in renewing:
                    found = None
                    if action.links(course.course_type):  # its `course_types`
                        found = renewing[index].get(course_id, {}).get(row.person_id)
                    if found is None:
                        found = none_held[index]
                    if found is not ONE_BY_ONE:
                        positions[found[0]].append(len(entries))
                        entries.append((found[0], index, judged, found[1], found[2]))
                        continue
                if known is None and not cancelled and table is not None:
                    # the same course-level checks as Planner.decide, looked up instead of redone
                    outcome = table[met]
                    positions[outcome].append(len(entries))
                    entries.append((outcome, index, judged))
                else:
                    participant = participant or read(row)
                    self.add(planner.decide(action, course, participant, known))


@contextmanager
def cyclic_collection_paused(*, keep: bool = False) -> Iterator[None]:
    """No cyclic garbage collection while the plan makes its many small objects.

    None of them refers back to another, so none can be in a cycle; but CPython's collector,
    started every 700 new objects, would walk all of those made so far again and again
    (half the time of judging 200,000 participants). With `keep`, what was made is set
    aside for good (`gc.freeze`): the plan lives until the run ends, and the collector,
    once enabled again, would otherwise walk its million objects three times over.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if keep:
            gc.freeze()
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
        window, skips, not_due = prune_courses(store, log, planner, chosen)
        courses = course_facts(conn, config, window)
    elif course_id is not None:
        courses = course_facts(conn, config, [course_id])
    else:
        courses = course_facts(conn, config)
        if person_id is None and not include_finished:
            window = linked_courses(planner, chosen, courses)
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
    with cyclic_collection_paused(keep=True):
        bulk = course_id is None and person_id is None
        plan.judge(planner, rows, look_up, logged, existing, finals, enough, bulk)
    return plan
