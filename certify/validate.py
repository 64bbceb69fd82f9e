"""`certify validate`: actions.yaml and every template, checked without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from certify.config import load
from certify.context import sample_context
from certify.errors import ConfigError
from certify.render import AddressError, MissingGlyphs, TemplateProblem, render_message
from certify.templates import Templates


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
        languages = {None} | set(templates.emails[action.email_template])
        for attachment in action.attachments:
            languages |= set(templates.layouts[attachment.template])
        for language in sorted(languages, key=lambda code: code or ""):
            context = sample_context(now)
            context["person"]["language"] = language or ""
            try:
                render_message(
                    templates, action, context, message_id="<sample@example.org>", sent_at=now
                )
            except TemplateProblem as exc:
                problems.extend(p for p in exc.problems if p not in problems)
            except (AddressError, MissingGlyphs) as exc:
                problems.append(f"{path}: the sample participant cannot be rendered: {exc}")
    return problems
