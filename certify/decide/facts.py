"""The facts the planner judges: courses with their requirement counts, and participants
with their registrations, read from the store in one pass over indexed tables."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, TypedDict, Unpack, cast

from certify.clock import from_utc_text
from certify.config import Config, status_key, type_key
from certify.decide import rules
from certify.deliver.lookup import finished_for_all_sql, state_of_sql
from certify.errors import did_you_mean
from certify.locale import _


class EnrollmentRow(NamedTuple):
    """One enrollment with its figures as `participant_rows` reads it: raw, so that 200,000
    of them cost little; `ParticipantReader` makes a `Participant` of one."""

    course_id: str
    person_id: str
    status: str | None  # None: enrolled, the usual, so that rows need not each carry the word
    enrolled_at: str  # as stored
    present: Any  # the present rows counted, or their registration moments as text
    results: str | None  # per result '1' or '0' (with the registration moment after it)
    states: str | None  # the logged states of the actions asked for, see `logged_states`

    def logged_states(self) -> tuple[str | None, ...]:
        """Per action asked for, its logged state (None: nothing logged); () if none asked."""
        if self.states is None:
            return ()
        return tuple(state or None for state in self.states.split(_STATES_APART))


_STATES_APART = "\x1f"  # the unit separator: in no state's name
# SQLite's rows become EnrollmentRows without a Python call per row
_as_enrollment_row = cast(
    "Callable[[tuple[Any, ...]], EnrollmentRow]", partial(tuple.__new__, EnrollmentRow)
)


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    name: str
    status: str
    end: datetime
    threshold: int | None
    attendance_parts: int  # |R| under the configured basis
    pass_parts: int  # |Q|
    needed: int
    course_type: str | None = None  # as written in the export; None: the course has none
    end_is_date: bool = False  # the export gave a day, stored as the midnight after it

    def attendance_met(self, present: int) -> bool:
        return rules.attendance_met(present, self.attendance_parts, self.needed)

    def pass_met(self, passed: int) -> bool:
        return rules.pass_met(passed, self.pass_parts)


class Participant(NamedTuple):
    """One enrollment with its registrations (a tuple: 200,000 of them are built per plan)."""

    course_id: str
    person_id: str
    status: str
    enrolled_at: datetime
    present: int  # present rows counted (parts of R)
    passed: int  # `passed = yes` rows of Q
    failed_parts: int = 0  # parts of Q with a `passed = no` result
    delivery_states: tuple[str | None, ...] = ()  # per action asked for, the logged state
    # registration moments (stored UTC text, which sorts like time); fetched only when
    # something needs to know *when* a requirement was met
    present_times: tuple[str, ...] | None = None
    passed_times: tuple[str, ...] | None = None


def course_facts(
    conn: sqlite3.Connection, config: Config, course_ids: Iterable[str] | None = None
) -> dict[str, Course]:
    """Every course (or these) with its requirement counts under the configured attendance
    basis."""
    all_parts = config.settings.attendance_basis == "all_parts"
    courses: dict[str, Course] = {}
    chosen = "" if course_ids is None else "WHERE c.course_id IN (SELECT value FROM json_each(?))"
    for row in conn.execute(
        f"""
        SELECT c.course_id, c.name, c.status, c."end", t.attendance_percentage,
               coalesce(sum(p.attendance_required), 0), count(p.part_id),
               coalesce(sum(p.pass_required), 0), c.course_type, c.end_is_date
        FROM courses c
        LEFT JOIN course_types t ON t.course_type = c.course_type
        LEFT JOIN parts p ON p.course_id = c.course_id
        {chosen}
        GROUP BY c.course_id
        """,
        () if course_ids is None else (json.dumps(list(course_ids)),),
    ):
        course_id, name, status, end, threshold, required, total, pass_parts, course_type = row[:9]
        attendance_parts = (total if required else 0) if all_parts else required
        pct = 100 if threshold is None else threshold
        # positional: a tick makes 10,000 of them, and keywords cost twice the time
        courses[course_id] = Course(
            course_id,
            name,
            status,
            from_utc_text(end),
            threshold,
            attendance_parts,
            pass_parts,
            rules.attendance_needed(attendance_parts, pct) if attendance_parts else 0,
            course_type or None,
            bool(row[9]),
        )
    return courses


class CourseEnd(NamedTuple):
    """What splitting the courses into history, due and still to come needs of one."""

    id: str
    end: datetime
    course_type: str | None
    end_is_date: bool = False


def course_ends(conn: sqlite3.Connection) -> list[CourseEnd]:
    """Every course's end and type, the earliest end first (ties by id)."""
    return [
        CourseEnd(course_id, from_utc_text(end), course_type or None, bool(is_date))
        for course_id, end, course_type, is_date in conn.execute(
            'SELECT course_id, "end", course_type, end_is_date FROM courses '
            'ORDER BY "end", course_id'
        )
    ]


def unmatched_settings(conn: sqlite3.Connection, config: Config) -> list[str]:
    """Statuses and course types in actions.yaml that nothing in the database matches.

    Such an action silently sends nothing, so each is a located warning for `run-due` and
    `validate --db`. A database without courses (nothing imported yet) gives none.
    """
    statuses = {
        status_key(row[0]) for row in conn.execute("SELECT DISTINCT status FROM courses") if row[0]
    }
    if not statuses:
        return []
    known_types: dict[str, str] = {}  # compared form → as written, the type list's first
    for (course_type,) in conn.execute(
        "SELECT course_type FROM course_types UNION ALL "
        "SELECT DISTINCT course_type FROM courses WHERE course_type IS NOT NULL"
    ):
        if course_type and course_type.strip():
            known_types.setdefault(type_key(course_type), course_type.strip())
    statuses_there = {status: status for status in statuses}
    warnings = []
    for index, action in enumerate(config.actions):
        for number, wanted in enumerate(action.conditions.course_status or []):
            if status_key(wanted) not in statuses:
                place = config.where("actions", index, "conditions", "course_status", number)
                said = _(
                    "course_status {status} matches no course in the database (statuses there: "
                    "{listed})"
                ).format(status=repr(wanted), listed=_listing(statuses_there, status_key(wanted)))
                warnings.append(f"{place}: {said}")
        for number, course_type in enumerate(action.course_types or []):
            if type_key(course_type) not in known_types:
                place = config.where("actions", index, "course_types", number)
                said = _(
                    "course type {type} is not a known course type (known: {listed}); remove "
                    "it from course_types if no course has it, or import the course type"
                ).format(
                    type=repr(course_type), listed=_listing(known_types, type_key(course_type))
                )
                warnings.append(f"{place}: {said}")
    return warnings


def _listing(known: dict[str, str], wanted: str, most: int = 12) -> str:
    """The values there are (a few, sorted), and the closest when it looks like a typo."""
    if not known:
        return _("none")
    ordered = [known[key] for key in sorted(known)]
    shown = ", ".join(ordered[:most])
    if len(known) > most:
        shown += ", " + _("and {count} more").format(count=len(known) - most)
    return shown + did_you_mean(wanted, known)


def _plain(text: str) -> str:
    """Lower case without accents: `Zoë` and `zoe` are the same when someone looks a name up."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def find_people(conn: sqlite3.Connection, text: str) -> list[tuple[str, str, str]]:
    """(person_id, full name, e-mail) of the persons `text` names: an id, a whole e-mail
    address, or part of a name (case and accents aside); never part of an address, where
    `noor` would find everyone at installatie-noord.nl."""
    text = text.strip()
    query = "SELECT person_id, coalesce(full_name, ''), email FROM persons"
    exact = conn.execute(f"{query} WHERE person_id = ?", (text,)).fetchall()
    if exact:
        return exact
    by_address = conn.execute(f"{query} WHERE lower(email) = lower(?)", (text,)).fetchall()
    if by_address:
        return by_address
    wanted = _plain(text)
    if not wanted:
        return []
    return [
        row
        for row in conn.execute(f"{query} ORDER BY full_name, person_id")
        if wanted in _plain(row[1])
    ]


def enrollments_of(conn: sqlite3.Connection, person_id: str) -> list[tuple[str, str, str]]:
    """(course_id, course name, end) of a person's enrollments, the latest end first."""
    return conn.execute(
        'SELECT e.course_id, c.name, c."end" FROM enrollments e '
        "JOIN courses c ON c.course_id = e.course_id WHERE e.person_id = ? "
        'ORDER BY c."end" DESC',
        (person_id,),
    ).fetchall()


def by_id(conn: sqlite3.Connection, sql: str, ids: Iterable[str]) -> dict[str, Any]:
    """Key → value of a two-column query over these ids, which it reads from `json_each(?)`
    (one bound JSON list: any number of ids in one statement)."""
    return dict(conn.execute(sql, (json.dumps(list(ids)),)).fetchall())


def enrolled_counts(conn: sqlite3.Connection, course_ids: Iterable[str]) -> dict[str, int]:
    """Per course of these, how many enrollments are not cancelled."""
    return by_id(
        conn,
        "SELECT course_id, count(*) FROM enrollments WHERE status != 'cancelled' "
        "AND course_id IN (SELECT value FROM json_each(?)) GROUP BY course_id",
        course_ids,
    )


# Per enrollment, correlated lookups through indexes: the work grows with the enrollments
# still open, not with the whole history, so a steady-state cron tick stays cheap. The
# parts that count, of the courses asked about, are gathered once into a small table that
# SQLite indexes by course: each enrollment then finds its parts without reading the
# parts table again (a tenth of the time of judging 200,000 participants).
_PARTICIPANTS_SQL = """
WITH counted AS MATERIALIZED (
    SELECT course_id, part_id FROM parts
    WHERE (attendance_required = 1 OR :all_parts) {courses}
), examined AS MATERIALIZED (
    SELECT course_id, part_id FROM parts WHERE pass_required = 1 {courses}
)
SELECT e.course_id, e.person_id, nullif(e.status, 'enrolled'),
    coalesce(e.enrolled_at, e.first_seen_at),
    (SELECT {present} FROM counted p
     JOIN attendance a ON a.part_id = p.part_id AND a.person_id = e.person_id
     WHERE p.course_id = e.course_id AND a.present = 1),
    (SELECT {results} FROM examined p
     JOIN results r ON r.part_id = p.part_id AND r.person_id = e.person_id
     WHERE p.course_id = e.course_id),
    {states}
FROM enrollments e
WHERE 1 {filter}
"""
# counts only, or with registration moments: each result as its flag then its moment
_COUNTS = {"present": "count(*)", "results": "group_concat(r.passed, '')"}
_WITH_TIMES = {
    "present": "group_concat(a.registered_at)",
    "results": "group_concat(r.passed || r.registered_at)",
}


def _times(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


class Selection(TypedDict, total=False):
    """Which enrollments `participant_rows` and `participants` read, and how much of them.

    `exclude_finished` lists (action id, since) pairs: enrollments whose delivery is final
    for every one of them are left out, so a steady-state tick only looks at open work.
    `states_of` lists action ids whose logged state each participant carries along.
    `with_times` reads the registration moments, not only their counts.
    """

    course_id: str | None
    person_id: str | None
    exclude_finished: list[tuple[str, str | None]] | None
    states_of: list[str] | None
    course_ids: list[str] | None
    with_times: bool


def participant_rows(
    conn: sqlite3.Connection, config: Config, **selection: Unpack[Selection]
) -> Iterator[EnrollmentRow]:
    """Every enrollment with its figures, in one query, as `EnrollmentRow`s.

    `ParticipantReader` makes a `Participant` of one. The planner reads the counts straight
    from the row and builds participants only for what it has to show.
    """
    course_id = selection.get("course_id")
    person_id = selection.get("person_id")
    course_ids = selection.get("course_ids")
    exclude_finished = selection.get("exclude_finished")
    states_of = selection.get("states_of")
    params: dict[str, Any] = {"all_parts": int(config.settings.attendance_basis == "all_parts")}
    conditions = []
    courses = []  # the same courses, for the parts
    if course_id is not None:
        conditions.append("e.course_id = :course_id")
        courses.append("course_id = :course_id")
        params["course_id"] = course_id
    if person_id is not None:
        conditions.append("e.person_id = :person_id")
        courses.append(
            "course_id IN (SELECT course_id FROM enrollments WHERE person_id = :person_id)"
        )
        params["person_id"] = person_id
    if course_ids is not None:
        conditions.append("e.course_id IN (SELECT value FROM json_each(:course_ids))")
        courses.append("course_id IN (SELECT value FROM json_each(:course_ids))")
        params["course_ids"] = json.dumps(course_ids)
    if exclude_finished:
        conditions.append(finished_for_all_sql(exclude_finished, params))
    # one column whatever the number of actions: every row has the fields of EnrollmentRow
    states = (
        " || char(31) || ".join(
            f"coalesce({state_of_sql(index, action_id, params)}, '')"
            for index, action_id in enumerate(states_of)
        )
        if states_of
        else "NULL"
    )
    sql = _PARTICIPANTS_SQL.format(
        filter="".join(f" AND {c}" for c in conditions),
        courses="".join(f" AND {c}" for c in courses),
        states=states,
        **(_WITH_TIMES if selection.get("with_times") else _COUNTS),
    )
    return map(_as_enrollment_row, conn.execute(sql, params))


class ParticipantReader:
    """Makes participants of `participant_rows` rows; the enrollment moments many
    participants share (every row of one import has the same) are read once."""

    def __init__(self, with_times: bool = False) -> None:
        self.with_times = with_times
        self._moments: dict[str, datetime] = {}

    def moment(self, text: str) -> datetime:
        """The stored UTC text as a datetime, read once per distinct text."""
        moment = self._moments.get(text)
        if moment is None:
            moment = self._moments[text] = from_utc_text(text)
        return moment

    def __call__(self, row: EnrollmentRow) -> Participant:
        """The participant of one row."""
        if not self.with_times:
            flags = row.results or ""
            passed = flags.count("1")
            return Participant(
                row.course_id,
                row.person_id,
                row.status or "enrolled",
                self.moment(row.enrolled_at),
                row.present,
                passed,
                len(flags) - passed,
                row.logged_states(),
            )
        present_times = _times(row.present)
        results = row.results.split(",") if row.results else []
        passed_times = tuple(result[1:] for result in results if result[0] == "1")
        return Participant(
            course_id=row.course_id,
            person_id=row.person_id,
            status=row.status or "enrolled",
            enrolled_at=self.moment(row.enrolled_at),
            present=len(present_times),
            passed=len(passed_times),
            failed_parts=len(results) - len(passed_times),
            delivery_states=row.logged_states(),
            present_times=present_times,
            passed_times=passed_times,
        )


def participants(
    conn: sqlite3.Connection, config: Config, **selection: Unpack[Selection]
) -> Iterator[Participant]:
    """Every enrollment with its figures, in one query (see `participant_rows`)."""
    reader = ParticipantReader(selection.get("with_times", False))
    return map(reader, participant_rows(conn, config, **selection))


def with_times(conn: sqlite3.Connection, config: Config, participant: Participant) -> Participant:
    """The participant with its registration moments, read when a count was all there was."""
    if participant.present_times is not None:
        return participant
    found = participants(
        conn,
        config,
        course_id=participant.course_id,
        person_id=participant.person_id,
        with_times=True,
    )
    return next(found, participant)


Figures = tuple["rules.AttendanceFigures[str]", "rules.PassFigures[str]"]


def participant_figures(course: Course, participant: Participant) -> Figures:
    """The figures of one participant, the same for every action, so computed once.

    Their moments stay stored UTC text (which sorts like time) until an anchor needs one.
    """
    return (
        rules.attendance_figures(
            course.attendance_parts,
            participant.present,
            course.threshold,
            course.needed,
            participant.present_times,
        ),
        rules.pass_figures(course.pass_parts, participant.passed, participant.passed_times),
    )


def as_moments(
    figures: Figures,
) -> tuple[rules.AttendanceFigures[datetime], rules.PassFigures[datetime]]:
    """The figures with their registration moments read as datetimes."""
    a, p = figures
    attendance = rules.AttendanceFigures(
        required_parts=a.required_parts,
        present=a.present,
        threshold=a.threshold,
        needed=a.needed,
        percentage=a.percentage,
        met=a.met,
        met_at=from_utc_text(a.met_at) if a.met_at else None,
    )
    passing = rules.PassFigures(
        required_parts=p.required_parts,
        passed=p.passed,
        met=p.met,
        met_at=from_utc_text(p.met_at) if p.met_at else None,
    )
    return attendance, passing
