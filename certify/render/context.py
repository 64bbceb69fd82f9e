"""What a template can see: one description of every variable with a sample value (the
variable check derived from it is `variables.py`), and the real context of one delivery
read from the store.

`SAMPLE` below is that description. `certify validate` renders every template against it,
the syntax-tree check accepts exactly its keys, and `DeliveryContexts` fills the same keys
for a real participant (a test holds the three together).
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from certify.clock import from_utc_text
from certify.config import Config
from certify.decide import rules
from certify.decide.facts import as_moments, participant_figures, with_times
from certify.errors import CertifyError
from certify.register.printed import certificate_view, reminded_certificate

if TYPE_CHECKING:
    from certify.decide.decisions import Decision


class OpenMapping(dict[str, Any]):
    """A mapping of export columns (`extra`): any key may exist, so the sample has them all."""

    def __missing__(self, key: str) -> str:
        return f"({key})"


class _Now:
    """Stands for the run's moment in the description; filled in per sample."""


NOW = _Now()
_MOMENT = datetime(2026, 11, 5, 17, 0, tzinfo=UTC)

# The one description of a template's variables, each with the value the sample shows.
# Names with diacritics and markup test encoding and escaping.
SAMPLE: dict[str, Any] = {
    "person": {
        "id": "SAMPLE",
        "first_name": "Zoë",
        "infix": "van der",
        "last_name": "Öztürk",
        "full_name": "Zoë van der Öztürk",
        "email": "zoe@example.org",
        "language": "nl",
        "extra": OpenMapping(),
    },
    "course": {
        "id": "SAMPLE-COURSE",
        "name": "Voorbeeldcursus <veiligheid> & co",
        "type": "VCA",
        "status": "final",
        "start": date(2026, 11, 1),
        "end": date(2026, 11, 5),
        "location": "Utrecht",
        "extra": OpenMapping(),
    },
    "enrollment": {
        "course_id": "SAMPLE-COURSE",
        "person_id": "SAMPLE",
        "status": "enrolled",
        "enrolled_at": _MOMENT,
        "extra": OpenMapping(),
    },
    "parts": [
        {
            "id": "SAMPLE-1",
            "name": "Dag 1",
            "start": _MOMENT,
            "end": _MOMENT,
            "attendance_required": True,
            "pass_required": True,
            "present": True,
            "passed": True,
            "grade": "8",
            "attendance": {"present": True, "registered_at": _MOMENT},
            "result": {"passed": True, "grade": "8", "registered_at": _MOMENT},
            "extra": OpenMapping(),
        }
    ],
    "requirements": {
        "attendance_met": True,
        "attendance_present": 1,
        "attendance_needed": 1,
        "attendance_required_parts": 1,
        "attendance_percentage": 100,
        "attendance_threshold": 100,
        "pass_met": True,
        "pass_passed": 1,
        "pass_required_parts": 1,
        "met_at": _MOMENT,
    },
    "action": {"id": "sample", "name": "sample"},
    "delivery": {
        "id": 1,
        "certificate_number": "2026-000001-7",
        "message_id": "<sample@example.org>",
    },
    # the register's view of the certificate this delivery carries (see certify/register)
    "certificate": {
        "number": "2026-000001-7",
        "code": "7K3M-Q9XD-2P4T",
        "verify_url": "https://example.org/certificaat/7K3M-Q9XD-2P4T",
        "issued_on": date(2026, 11, 6),
        "valid_until": date(2027, 11, 5),
        "replaces": "",
    },
    "now": NOW,
}


def sample_context(now: datetime) -> dict[str, Any]:
    """A participant with every variable filled, for rendering templates without data."""

    def fill(value: Any) -> Any:
        if value is NOW:
            return now
        if isinstance(value, OpenMapping):
            return OpenMapping()
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return copy.copy(value)

    result: dict[str, Any] = fill(SAMPLE)
    return result


class _Open:
    """In the schema: below this point any attribute is allowed (export columns, values)."""


OPEN = _Open()


def _schema(value: Any) -> Any:
    if isinstance(value, OpenMapping):
        return OPEN
    if isinstance(value, dict):
        return {key: _schema(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_schema(value[0])]
    return None


# The keys a template may use: mappings of known keys, a one-element list for lists, OPEN
# for export columns, None for values.
SCHEMA: dict[str, Any] = _schema(SAMPLE)

# Parts of the context that cost a query of their own per delivery: read only when a
# template names them (a template that indexes with a computed key needs everything).
COSTLY = frozenset({"parts", "met_at"})


@dataclass(frozen=True, slots=True)
class DeliveryRef:
    """The delivery a message is rendered for (None/empty for a preview of no delivery)."""

    id: int | None
    certificate_number: str
    message_id: str
    code: str = ""  # the certificate's verification code, as shown (XXXX-XXXX-XXXX)
    replaces: str = ""  # on a re-issue: the number of the certificate it replaces


def _local(moment: str | None, tz: tzinfo) -> datetime | None:
    return from_utc_text(moment).astimezone(tz) if moment else None


def _local_date(moment: str | None, tz: tzinfo, *, end_of_day: bool) -> date | None:
    local = _local(moment, tz)
    if local is None:
        return None
    if end_of_day and local.hour == 0:
        # a date-only end was stored as the start of the next day ("some time that day")
        return (local - timedelta(days=1)).date()
    return local.date()


def _extra(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


# a person's row with that person's enrollment in one course
_PERSON_COLUMNS = "p.*, e.status AS enrollment_status, e.extra AS enrollment_extra"


class DeliveryContexts:
    """Reads the template context of real participants; course rows are read once each."""

    def __init__(
        self, conn: sqlite3.Connection, config: Config, needs: frozenset[str] = COSTLY
    ) -> None:
        self.conn = conn
        self.config = config
        self.tz = config.tz
        self.needs = needs  # of COSTLY, what the templates use
        self._courses: dict[str, dict[str, Any]] = {}
        self._people: dict[tuple[str, str], dict[str, Any]] = {}  # read ahead by `prefetch`

    def _rows(self, sql: str, params: Any) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _course(self, course_id: str) -> dict[str, Any] | None:
        if course_id not in self._courses:
            rows = self._rows("SELECT * FROM courses WHERE course_id = ?", (course_id,))
            if not rows:
                return None
            row = rows[0]
            tz = self.tz
            self._courses[course_id] = {
                "id": row["course_id"],
                "name": row["name"],
                "type": row["course_type"] or "",
                "status": row["status"],
                "start": _local_date(row["start"], tz, end_of_day=False)
                if row["start_is_date"]
                else _local(row["start"], tz),
                "end": _local_date(row["end"], tz, end_of_day=True)
                if row["end_is_date"]
                else _local(row["end"], tz),
                "location": row["location"] or "",
                "extra": _extra(row["extra"]),
            }
        return self._courses[course_id]

    def _parts(self, course_id: str, person_id: str) -> list[dict[str, Any]]:
        tz = self.tz
        parts = []
        for row in self._rows(
            """
            SELECT p.*, a.present, a.registered_at AS attendance_registered_at,
                   r.passed, r.grade, r.registered_at AS result_registered_at
            FROM parts p
            LEFT JOIN attendance a ON a.part_id = p.part_id AND a.person_id = :person
            LEFT JOIN results r ON r.part_id = p.part_id AND r.person_id = :person
            WHERE p.course_id = :course ORDER BY p.start, p.part_id
            """,
            {"person": person_id, "course": course_id},
        ):
            present = None if row["present"] is None else bool(row["present"])
            passed = None if row["passed"] is None else bool(row["passed"])
            attendance = None
            if present is not None:
                registered = _local(row["attendance_registered_at"], tz)
                attendance = {"present": present, "registered_at": registered}
            result = None
            if passed is not None:
                registered = _local(row["result_registered_at"], tz)
                result = {"passed": passed, "grade": row["grade"], "registered_at": registered}
            parts.append(
                {
                    "id": row["part_id"],
                    "name": row["name"],
                    "start": _local(row["start"], tz),
                    "end": _local(row["end"], tz),
                    "attendance_required": bool(row["attendance_required"]),
                    "pass_required": bool(row["pass_required"]),
                    "present": present,
                    "passed": passed,
                    "grade": row["grade"],
                    "attendance": attendance,
                    "result": result,
                    "extra": _extra(row["extra"]),
                }
            )
        return parts

    def _met_at(self, decision: Decision) -> datetime | None:
        """When the participant met what the action checks (attendance, and pass if checked)."""
        participant = with_times(self.conn, self.config, decision.participant)
        attendance, passing = as_moments(participant_figures(decision.course, participant))
        checks_pass: rules.ConditionValue = (
            "yes" if decision.action.conditions.pass_ == "yes" else "no"
        )
        return rules.requirements_met_at(
            attendance, passing, "yes", checks_pass, decision.participant.enrolled_at
        )

    def prefetch(self, decisions: Sequence[Decision]) -> None:
        """Read the person and enrollment rows of a batch of deliveries in one query; `read`
        takes them from there (and reads any other by itself)."""
        pairs = list({(d.course.id, d.participant.person_id) for d in decisions})
        self._people = {}
        if not pairs:
            return
        wanted = ", ".join("(?, ?)" for _ in pairs)
        for row in self._rows(
            f"WITH wanted(course_id, person_id) AS (VALUES {wanted}) "
            f"SELECT w.course_id AS wanted_course, {_PERSON_COLUMNS} FROM wanted w "
            "JOIN persons p ON p.person_id = w.person_id "
            "LEFT JOIN enrollments e ON e.course_id = w.course_id AND e.person_id = w.person_id",
            [value for pair in pairs for value in pair],
        ):
            self._people[(row.pop("wanted_course"), row["person_id"])] = row

    def _person(self, course_id: str, person_id: str) -> dict[str, Any] | None:
        person = self._people.pop((course_id, person_id), None)
        if person is not None:
            return person
        rows = self._rows(
            f"SELECT {_PERSON_COLUMNS} FROM persons p LEFT JOIN enrollments e "
            "ON e.course_id = ? AND e.person_id = p.person_id WHERE p.person_id = ?",
            (course_id, person_id),
        )
        return rows[0] if rows else None

    def read(self, decision: Decision, delivery: DeliveryRef, now: datetime) -> dict[str, Any]:
        """The variables of one participant's message; the action name is left unrendered."""
        tz = self.tz
        course_id, person_id = decision.course.id, decision.participant.person_id
        person = self._person(course_id, person_id)
        course = self._course(course_id)
        if person is None or course is None:
            raise CertifyError(f"participant {person_id} of course {course_id} not found")
        a, p = decision.attendance, decision.passing
        met_at = self._met_at(decision) if "met_at" in self.needs else None
        return {
            "person": {
                "id": person["person_id"],
                "first_name": person["first_name"] or "",
                "infix": person["infix"] or "",
                "last_name": person["last_name"] or "",
                "full_name": person["full_name"] or "",
                "email": person["email"],
                "language": person["language"] or "",
                "extra": _extra(person["extra"]),
            },
            "course": dict(course),
            "enrollment": {
                "course_id": course_id,
                "person_id": person_id,
                "status": person["enrollment_status"] or "",
                "enrolled_at": decision.participant.enrolled_at.astimezone(tz),
                "extra": _extra(person["enrollment_extra"]),
            },
            "parts": self._parts(course_id, person_id) if "parts" in self.needs else [],
            "requirements": {
                "attendance_met": a.met,
                "attendance_present": a.present,
                "attendance_needed": a.needed,
                "attendance_required_parts": a.required_parts,
                "attendance_percentage": a.percentage,
                "attendance_threshold": a.threshold,
                "pass_met": p.met,
                "pass_passed": p.passed,
                "pass_required_parts": p.required_parts,
                "met_at": met_at.astimezone(tz) if met_at is not None else None,
            },
            "action": {"id": decision.action.id, "name": decision.action.name},
            "delivery": {
                "id": delivery.id,
                "certificate_number": delivery.certificate_number,
                "message_id": delivery.message_id,
            },
            "certificate": (
                reminded_certificate(
                    self.conn, self.config, decision.action.timing.renews, course_id, person_id
                )
                if decision.action.timing.renews
                else certificate_view(
                    self.config, decision.action, course, delivery, now.astimezone(tz).date()
                )
            ),
            "now": now.astimezone(tz),
        }
