"""A cron tick long after the last course: every course is history for every action, and
that history is recorded skipped already, so no course needs reading. A few small queries
tell, where reading every course's end and every recorded skip (tens of thousands of rows)
would tell the same; when they cannot tell, the planner reads and splits the courses itself
(`plan._prune_courses`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from certify.clock import from_utc_text, to_utc_text
from certify.decide import rules
from certify.decide.facts import CourseEnd

if TYPE_CHECKING:
    from certify.config import Action
    from certify.decide.decisions import Planner
    from certify.store.database import Store


def all_history_recorded(store: Store, planner: Planner, actions: list[Action]) -> bool:
    """Is every course due before each action's `since`, and recorded skipped under it?
    Then a plan has no course to read: none in the window, none to come, no skip to record.
    False also when this cannot be known without reading the courses."""
    if not actions or any(action.course_types is not None for action in actions):
        return False  # an action's own courses are found course by course
    conn = store.conn
    # the latest course in the planner's order ("end", then id), and which kinds of ends exist
    last = conn.execute(
        'SELECT course_id, "end", course_type, end_is_date FROM courses '
        'ORDER BY "end" DESC, course_id DESC LIMIT 1'
    ).fetchone()
    if last is None:
        return False
    latest = CourseEnd(last[0], from_utc_text(last[1]), last[2] or None, bool(last[3]))
    day_ends, timed_ends = (
        bool(flag)
        for flag in conn.execute(
            "SELECT max(end_is_date != 0), max(end_is_date = 0) FROM courses"
        ).fetchone()
    )
    (courses,) = conn.execute("SELECT count(*) FROM courses").fetchone()
    for action in actions:
        t = action.timing
        timing = rules.Timing(t.after or "", t.offset, t.unit, t.at_time)
        if not rules.ends_keep_due_order(timing, timed_ends=timed_ends, day_ends=day_ends):
            return False  # the latest end is not then the latest due moment
        since = planner.since[action.id]
        if not planner.course_due(action, latest) < since:
            return False  # some course is in the window, or still to come
        # course_skips holds one row per (action, course): as many of this `since` as there
        # are courses means every course is recorded
        (recorded,) = conn.execute(
            "SELECT count(*) FROM course_skips WHERE action = ? AND since = ? "
            "AND course_id IN (SELECT course_id FROM courses)",
            (action.id, to_utc_text(since)),
        ).fetchone()
        if recorded != courses:
            return False
    return True
