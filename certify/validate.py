"""`certify validate`: actions.yaml and every template, checked without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from certify.config import load
from certify.errors import ConfigError
from certify.render import AddressError, TemplateProblem, Templates


def sample_context(now: datetime) -> dict[str, Any]:
    """A participant with every variable of SPEC section 5 filled, names that test encoding."""
    moment = datetime(2026, 11, 5, 17, 0, tzinfo=UTC)
    part = {
        "id": "SAMPLE-1", "name": "Dag 1", "start": moment, "end": moment,
        "attendance_required": True, "pass_required": True, "present": True, "passed": True,
        "grade": "8", "attendance": {"present": True, "registered_at": moment},
        "result": {"passed": True, "grade": "8", "registered_at": moment}, "extra": {},
    }  # fmt: skip
    return {
        "person": {
            "id": "SAMPLE", "first_name": "Zoë", "infix": "van der", "last_name": "Öztürk",
            "full_name": "Zoë van der Öztürk", "email": "zoe@example.org", "language": "nl",
            "extra": {},
        },
        "course": {
            "id": "SAMPLE-COURSE", "name": "Voorbeeldcursus <veiligheid> & co", "type": "VCA",
            "status": "final", "start": date(2026, 11, 1), "end": date(2026, 11, 5),
            "location": "Utrecht", "extra": {},
        },
        "enrollment": {
            "course_id": "SAMPLE-COURSE", "person_id": "SAMPLE", "status": "enrolled",
            "enrolled_at": moment, "extra": {},
        },
        "parts": [part],
        "requirements": {
            "attendance_met": True, "attendance_present": 1, "attendance_needed": 1,
            "attendance_required_parts": 1, "attendance_percentage": 100,
            "attendance_threshold": 100, "pass_met": True, "pass_passed": 1,
            "pass_required_parts": 1, "met_at": moment,
        },
        "action": {"id": "sample", "name": "sample"},
        "delivery": {"id": 1, "certificate_number": "2026-000001-7", "message_id": "<sample@example.org>"},
        "now": now,
    }  # fmt: skip


def validate_all(path: Path) -> list[str]:
    """Every problem in actions.yaml and its templates, as `file:line: message` lines."""
    try:
        config = load(path)
    except ConfigError as exc:
        return exc.problems
    templates = Templates(config)
    problems = list(templates.problems)
    if problems:
        return problems
    now = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)
    for action in config.actions:
        context = sample_context(now)
        try:
            context["action"]["name"] = templates.render_name(action, context)
            templates.render(action, context, message_id="<sample@example.org>", sent_at=now)
        except TemplateProblem as exc:
            problems.extend(exc.problems)
        except (TemplateError, AddressError, TypeError, ValueError) as exc:
            template = templates.by_name[action.email_template]
            problems.append(f"{template.text_file}: rendering the sample participant failed: {exc}")
    return problems
