"""`certify validate`: actions.yaml and every template, checked without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import TemplateError

from certify.config import load
from certify.context import sample_context
from certify.errors import ConfigError
from certify.render import AddressError, TemplateProblem, Templates


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
            templates.render(action, context, message_id="<sample@example.org>", sent_at=now)
        except TemplateProblem as exc:
            problems.extend(exc.problems)
        except (TemplateError, AddressError, TypeError, ValueError) as exc:
            template = templates.by_name[action.email_template]
            problems.append(f"{template.text_file}: rendering the sample participant failed: {exc}")
    return problems
