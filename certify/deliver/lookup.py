"""What the planner, the report and `explain` read of the delivery log: logged deliveries
by key, the actions' `since`, and SQL fragments for the planner's participant query.

Reads only; `DeliveryLog` writes (and `History` reads the log for people).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certify.clock import from_utc_text
from certify.deliver.state import FINAL, IN_MOTION, DeliveryState, sql_list
from certify.store.database import Store

Key = tuple[str, str, str]  # (action, course_id, person_id)


@dataclass(frozen=True, slots=True)
class ExistingDelivery:
    """What the planner needs to know of a logged delivery."""

    id: int
    state: str
    due_at: str | None
    next_attempt_at: str | None
    attempts: int
    last_error: str | None


# -- fragments for the planner's participant query ------------------------------------------


def finished_for_all_sql(pairs: list[tuple[str, str | None]], params: dict[str, Any]) -> str:
    """SQL true for an enrollment whose delivery is final for every (action, since) pair."""
    finished = []
    for index, (action_id, since) in enumerate(pairs):
        params[f"a{index}"] = action_id
        params[f"s{index}"] = since
        finished.append(
            f"EXISTS (SELECT 1 FROM deliveries d WHERE d.action = :a{index} "
            "AND d.course_id = e.course_id AND d.person_id = e.person_id "
            f"AND (d.state IN {sql_list(FINAL)} OR (d.state = '{DeliveryState.SKIPPED}' "
            f"AND :s{index} IS NOT NULL AND d.due_at < :s{index})))"
        )
    return "NOT (" + " AND ".join(finished) + ")"


def state_of_sql(index: int, action_id: str, params: dict[str, Any]) -> str:
    """SQL for the logged state of an enrollment's delivery of one action (NULL: none)."""
    name = f"st{index}"
    params[name] = action_id
    return (
        f"(SELECT d.state FROM deliveries d WHERE d.action = :{name} "
        "AND d.course_id = e.course_id AND d.person_id = e.person_id)"
    )


class DeliveryLookup:
    """The delivery log of one store, read by key for planning and reporting."""

    def __init__(self, store: Store) -> None:
        self.conn = store.conn

    def recorded_since(self) -> dict[str, datetime]:
        """Per action, the `now` of the first sending run that evaluated it."""
        return {
            action: from_utc_text(since)
            for action, since in self.conn.execute("SELECT action, since FROM action_since")
        }

    def _existing(self, where: str, params: Any) -> dict[Key, ExistingDelivery]:
        return {
            (row[0], row[1], row[2]): ExistingDelivery(*row[3:])
            for row in self.conn.execute(
                "SELECT action, course_id, person_id, id, state, due_at, next_attempt_at, "
                f"attempts, last_error FROM deliveries WHERE {where}",
                params,
            )
        }

    def in_motion(self, action_ids: list[str]) -> dict[Key, ExistingDelivery]:
        """The deliveries still moving (a retry waits, or a run was interrupted)."""
        if not action_ids:
            return {}
        marks = ", ".join("?" * len(action_ids))
        # `+action`: the state's index finds the few rows in motion among years of history
        return self._existing(
            f"+action IN ({marks}) AND state IN {sql_list(IN_MOTION)}", action_ids
        )

    def of(self, course_id: str | None, person_id: str | None) -> dict[Key, ExistingDelivery]:
        """Every logged delivery of a course, a person, or one participant."""
        return self._existing(
            "(:c IS NULL OR course_id = :c) AND (:p IS NULL OR person_id = :p)",
            {"c": course_id, "p": person_id},
        )

    def of_courses(
        self, action_ids: list[str], course_ids: list[str]
    ) -> dict[Key, tuple[ExistingDelivery, str | None]]:
        """Each logged delivery of these actions to these courses' enrollments, with its sent_at."""
        # reached through each enrollment's key, one action at a time, so the lookups use the
        # log's unique (action, course, person) index and never scan years of deliveries
        found: dict[Key, tuple[ExistingDelivery, str | None]] = {}
        for action_id in action_ids:
            for row in self.conn.execute(
                "SELECT d.course_id, d.person_id, d.id, d.state, d.due_at, d.next_attempt_at, "
                "d.attempts, d.last_error, d.sent_at FROM enrollments e JOIN deliveries d "
                "ON d.action = :action AND d.course_id = e.course_id "
                "AND d.person_id = e.person_id "
                "WHERE e.course_id IN (SELECT value FROM json_each(:courses))",
                {"action": action_id, "courses": json.dumps(course_ids)},
            ):
                found[(action_id, row[0], row[1])] = (ExistingDelivery(*row[2:8]), row[8])
        return found

    def any_logged(self, action_ids: list[str]) -> bool:
        """Has anything been logged for these actions (before switching one on, nothing)?"""
        if not action_ids:
            return False
        marks = ", ".join("?" * len(action_ids))
        row = self.conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM deliveries WHERE action IN ({marks}))", action_ids
        ).fetchone()
        return bool(row[0])

    def course_skips(self) -> dict[tuple[str, str], str]:
        """(action, course) → the `since` under which its history was recorded skipped."""
        return {
            (action, course): since
            for action, course, since in self.conn.execute(
                "SELECT action, course_id, since FROM course_skips"
            )
        }

    def unlogged_enrollments(self, action_id: str, course_ids: Iterable[str]) -> int:
        """Enrollments of these courses with no delivery of the action (for a dry run)."""
        row = self.conn.execute(
            "SELECT count(*) FROM enrollments e WHERE e.status != 'cancelled' "
            "AND e.course_id IN (SELECT value FROM json_each(?)) AND NOT EXISTS "
            "(SELECT 1 FROM deliveries d WHERE d.action = ? AND d.course_id = e.course_id "
            "AND d.person_id = e.person_id)",
            (json.dumps(list(course_ids)), action_id),
        ).fetchone()
        return int(row[0])
