"""`certify validate`: actions.yaml and every template, checked without a database — and,
with `--db`, rendered for real participants and compared with the data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from certify.config import Action, Config, load
from certify.errors import CertifyError, ConfigError
from certify.locale import _, ngettext
from certify.register.signing import Signing, load_signing
from certify.render.compose import (
    AddressError,
    MissingGlyphs,
    TemplateProblem,
    render_message,
    with_columns,
)
from certify.render.context import DeliveryContexts, DeliveryRef, sample_context
from certify.render.templates import Templates, primary_subtag
from certify.store.database import Store

SAMPLE_NOW = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)


def _languages(templates: Templates, action: Action) -> list[str | None]:
    """The language variants an action's templates have; None is the default."""
    languages = {None} | set(templates.emails[action.email_template])
    for attachment in action.attachments:
        languages |= set(templates.layouts[attachment.template])
    return sorted(languages, key=lambda code: code or "")


def _render(
    templates: Templates,
    action: Action,
    context: dict[str, object],
    signing: Signing | None = None,
) -> list[str]:
    """The problems of rendering one message, as located lines."""
    try:
        render_message(
            templates,
            action,
            context,
            message_id="<check@example.org>",
            sent_at=SAMPLE_NOW,
            signing=signing,
        )
    except TemplateProblem as exc:
        return exc.problems
    except (AddressError, MissingGlyphs) as exc:
        return [str(exc)]
    return []


def validate_all(path: Path) -> list[str]:
    """Every problem in actions.yaml and its templates, as `file:line: message` lines."""
    try:
        config = load(path)
    except ConfigError as exc:
        return exc.problems
    templates = Templates(config)
    signing, signing_problems = load_signing(config)
    problems = list(templates.problems) + signing_problems
    if problems:
        return problems
    # the sample certificates are signed too: a key that opens but cannot sign shows here
    for action in config.actions:
        for language in _languages(templates, action):
            context = sample_context(SAMPLE_NOW)
            context["person"]["language"] = language or ""
            found = _render(templates, action, context, signing)
            problems.extend(p for p in found if p not in problems)
    return problems


def validate_with_data(path: Path, db: Path, now: datetime) -> tuple[list[str], list[str]]:
    """Problems and warnings of actions.yaml against a real database.

    Every template (and language variant) is rendered for a real participant of a course
    the action acts on, and the statuses and course types of actions.yaml are compared with
    the data. Reads only.
    """
    from certify.decide.facts import unmatched_settings
    from certify.inspect.explain import decisions_of

    problems = validate_all(path)
    if problems:
        return problems, []
    config = load(path)
    templates = Templates(config)
    with Store.open_readonly(db) as store:
        warnings = unmatched_settings(store.conn, config) + _due_at_enrollment(store, config)
        warnings += _reminders_of_nothing(store, config)
        contexts = DeliveryContexts(store.conn, config)
        for action in config.actions:
            candidates = _participants(store, config, action)
            if not candidates:
                said = _(
                    "no participant in the database for action {action} to render its "
                    "templates with"
                ).format(action=repr(action.id))
                place = config.where("actions", config.actions.index(action), "id")
                warnings.append(f"{place}: {said}")
                continue
            for language in _languages(templates, action):
                course, person = _pick(candidates, language)
                try:
                    decision = decisions_of(store, config, course, person, now, action.id)[0]
                except CertifyError:
                    continue
                delivery = DeliveryRef(
                    None, "2026-000000-0", "<check@example.org>", "0000-0000-0000"
                )
                context = contexts.read(decision, delivery, now)
                for problem in _render(templates, action, context):
                    line = (
                        with_columns(problem, context)
                        + " "
                        + _("(participant {course}/{person})").format(course=course, person=person)
                    )
                    if line not in problems:
                        problems.append(line)
    return problems, warnings


def _due_at_enrollment(store: Store, config: Config) -> list[str]:
    """Actions anchored on `requirements_met` that act on courses with nothing to register
    for the requirements they check: by the rule for an empty requirement, their
    participants are due from their enrollment, before the course takes place."""
    from certify.config import type_key

    courses = store.conn.execute(
        "SELECT c.course_id, c.course_type, coalesce(sum(p.attendance_required), 0), "
        "coalesce(sum(p.pass_required), 0) FROM courses c "
        "LEFT JOIN parts p ON p.course_id = c.course_id GROUP BY c.course_id ORDER BY 1"
    ).fetchall()
    warnings = []
    for index, action in enumerate(config.actions):
        if action.timing.after != "requirements_met":
            continue
        linked = {type_key(t) for t in action.course_types} if action.course_types else None
        checks_attendance = action.conditions.attendance == "yes"
        checks_pass = action.conditions.pass_ == "yes"
        empty = [
            (course_id, course_type)
            for course_id, course_type, attendance_parts, pass_parts in courses
            if (linked is None or type_key(course_type or "") in linked)
            and not (checks_attendance and attendance_parts)
            and not (checks_pass and pass_parts)
        ]
        if empty:
            untyped = _("no type")
            shown = ", ".join(f"{cid} ({ctype or untyped})" for cid, ctype in empty[:3])
            if len(empty) > 3:
                shown += " " + _("and {count} more").format(count=len(empty) - 3)
            said = ngettext(
                "{count} course of action {action} has nothing to register for the requirements "
                "it checks ({courses}): its participants are due from their enrollment, before "
                "the course takes place; anchor the action on course_end, or link it to other "
                "course types",
                "{count} courses of action {action} have nothing to register for the "
                "requirements it checks ({courses}): their participants are due from their "
                "enrollment, before the course takes place; anchor the action on course_end, or "
                "link it to other course types",
                len(empty),
            ).format(count=len(empty), action=repr(action.id), courses=shown)
            warnings.append(f"{config.where('actions', index, 'timing', 'after')}: {said}")
    return warnings


def _reminders_of_nothing(store: Store, config: Config) -> list[str]:
    """Reminders of an action that attaches no certificate: it issues none, so only
    certificates imported for it can ever be reminded of."""
    by_id = {action.id: action for action in config.actions}
    warnings = []
    for index, action in enumerate(config.actions):
        target = by_id.get(action.timing.renews or "")
        if target is None or target.attachments:
            continue
        (imported,) = store.conn.execute(
            "SELECT count(*) FROM certificates WHERE action = ?", (target.id,)
        ).fetchone()
        if imported:
            continue
        said = _(
            "action {action} attaches no certificate, so it issues none: this reminder can only "
            "follow certificates imported for it, and there are none (name the action whose "
            "certificates expire, or give {action} an attachment)"
        ).format(action=repr(target.id))
        warnings.append(f"{config.where('actions', index, 'timing', 'of')}: {said}")
    return warnings


def _participants(
    store: Store, config: Config, action: Action
) -> list[tuple[str, str, str | None]]:
    """(course, person, language) of enrolled participants of courses the action acts on."""
    rows = store.conn.execute(
        "SELECT e.course_id, e.person_id, p.language, c.course_type FROM enrollments e "
        "JOIN courses c ON c.course_id = e.course_id JOIN persons p ON p.person_id = e.person_id "
        "WHERE e.status != 'cancelled' ORDER BY c.\"end\" DESC LIMIT 5000"
    ).fetchall()
    return [
        (course, person, language) for course, person, language, kind in rows if action.links(kind)
    ]


def _pick(candidates: list[tuple[str, str, str | None]], language: str | None) -> tuple[str, str]:
    """A participant whose language chooses this variant (the first one, else any)."""
    for course, person, person_language in candidates:
        if primary_subtag(person_language) == language:
            return course, person
    course, person, _ = candidates[0]
    return course, person
