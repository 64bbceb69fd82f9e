"""What certify would do for one participant, and why: `explain` and `preview`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from certify import words
from certify.clock import from_utc_text, to_utc_text
from certify.config import Config
from certify.decide.decisions import Decision, effective_since, not_linked_reason
from certify.decide.facts import enrollments_of, find_people
from certify.decide.plan import make_plan
from certify.deliver.lookup import DeliveryLookup
from certify.errors import CertifyError, ConfigError, MissingGlyphs
from certify.inspect.history import History, command_that_settles
from certify.locale import _
from certify.render.compose import TemplateProblem, render_message
from certify.render.context import DeliveryContexts, DeliveryRef
from certify.render.message import AddressError, Mail
from certify.render.templates import Templates
from certify.store.database import Store


def decisions_of(
    store: Store, config: Config, course: str, person: str, now: datetime, action: str | None = None
) -> list[Decision]:
    """Every action's decision for one participant, finished ones included."""
    chosen = [config.action(action)] if action else config.actions
    plan = make_plan(
        store,
        config,
        now,
        actions=chosen,
        course_id=course,
        person_id=person,
        include_finished=True,
    )
    if not plan.decisions:
        raise missing_participant(store, course, person) or CertifyError(
            _("person {person} is not enrolled in course {course}").format(
                person=repr(person), course=repr(course)
            ),
            hint=_("check the ids with the enrollments export"),
        )
    return plan.decisions


def missing_participant(store: Store, course: str, person: str) -> CertifyError | None:
    """The error for a person id, course id or enrollment that is not there; None if it is."""
    conn = store.conn
    known = conn.execute(
        "SELECT (SELECT coalesce(full_name, person_id) FROM persons WHERE person_id = ?), "
        "EXISTS (SELECT 1 FROM courses WHERE course_id = ?), "
        "EXISTS (SELECT 1 FROM enrollments WHERE course_id = ? AND person_id = ?)",
        (person, course, course, person),
    ).fetchone()
    name, course_known, enrolled = known
    if name is None:
        # a name or an address where an id belongs: say whom it may mean
        matches = find_people(conn, person)
        meant = ", ".join(f"{pid} ({full_name or email})" for pid, full_name, email in matches[:5])
        if len(matches) > 5:
            meant += " " + _("or {count} more").format(count=len(matches) - 5)
        return CertifyError(
            _("no person with id {person}").format(person=repr(person)),
            hint=(_("did you mean {name}?").format(name=meant) + " " if meant else "")
            + _(
                "--person takes a person_id; `certify explain --person {person}` finds people "
                "by name or e-mail address"
            ).format(person=person),
        )
    if not course_known:
        return CertifyError(
            _("no course with id {course}").format(course=repr(course)),
            hint=_("`certify explain --person {person}` lists the courses of {name}").format(
                person=person, name=name
            ),
        )
    if not enrolled:
        courses = [cid for cid, _name, _end in enrollments_of(conn, person)]
        listed = ", ".join(courses[:10])
        if len(courses) > 10:
            listed += " " + _("and {count} more").format(count=len(courses) - 10)
        return CertifyError(
            _("{person} {name} is not enrolled in course {course}").format(
                person=person, name=name, course=repr(course)
            ),
            hint=_("{person} is enrolled in {courses}").format(person=person, courses=listed)
            if courses
            else _("check the ids with the enrollments export"),
        )
    return None


def resolve_enrollments(store: Store, person: str, course: str | None) -> list[tuple[str, str]]:
    """(course_id, person_id) of each enrollment meant: a person named by id, e-mail address
    or part of a name, in the course given or, when none is, in every course they are in."""
    people = find_people(store.conn, person)
    if not people:
        raise CertifyError(
            _("no person matches {person}").format(person=repr(person)),
            hint=_("give a person_id, an e-mail address or part of a name"),
        )
    if len(people) > 1:
        listed = "; ".join(f"{pid} {name} <{email}>" for pid, name, email in people[:20])
        if len(people) > 20:
            listed += " " + _("and {count} more").format(count=len(people) - 20)
        raise CertifyError(
            _("{count} persons match {person}: {listed}").format(
                count=len(people), person=repr(person), listed=listed
            ),
            hint=_("choose one: --person with their id or e-mail address"),
        )
    person_id = people[0][0]
    if course is not None:
        return [(course, person_id)]
    enrollments = enrollments_of(store.conn, person_id)
    if not enrollments:
        raise CertifyError(
            _("{person} {name} is not enrolled in any course").format(
                person=person_id, name=people[0][1]
            )
        )
    return [(course_id, person_id) for course_id, _, _ in enrollments]


def _names(store: Store, course: str, person: str) -> tuple[str, str]:
    row = store.conn.execute(
        "SELECT (SELECT name FROM courses WHERE course_id = ?), "
        "(SELECT coalesce(full_name, person_id) FROM persons WHERE person_id = ?)",
        (course, person),
    ).fetchone()
    return row[0] or course, row[1] or person


# -- the model: what there is to say about one participant ------------------------------


@dataclass(frozen=True)
class ActionExplained:
    """One action's decision for the participant, with what the delivery log holds of it."""

    decision: Decision
    state: str  # the logged state, or the outcome when decided afresh now
    record: dict[str, Any] | None
    history: list[dict[str, Any]]
    settle: str | None
    since: datetime | None  # from when deliveries count, when set or recorded


@dataclass(frozen=True)
class Explanation:
    """What certify would do for one participant at `now`, and why, per action."""

    course: str
    person: str
    course_name: str
    person_name: str
    now: datetime
    actions: list[ActionExplained]


def explain_person(
    store: Store, config: Config, person: str, course: str | None, now: datetime
) -> list[Explanation]:
    """Every enrollment of the person `person` names (in `course` only, when given), each
    explained; the latest course first."""
    return [
        explain_participant(store, config, course_id, person_id, now)
        for course_id, person_id in resolve_enrollments(store, person, course)
    ]


def explain_participant(
    store: Store, config: Config, course: str, person: str, now: datetime
) -> Explanation:
    """Per action: the decision, the state, the history and what settles a problem."""
    recorded = DeliveryLookup(store).recorded_since()
    past = History(store)
    course_name, person_name = _names(store, course, person)
    actions = []
    for decision in decisions_of(store, config, course, person, now):
        record = past.find(decision.key)
        state = _shown_state(record, decision.outcome)
        last_error = record["last_error"] if record else None
        action = decision.action
        shows_since = action.since is not None or action.id in recorded
        actions.append(
            ActionExplained(
                decision=decision,
                state=state,
                record=record,
                history=past.events(record["id"]) if record else [],
                settle=words.settling(state, command_that_settles(state, decision.key), last_error),
                since=effective_since(config, action, recorded, now) if shows_since else None,
            )
        )
    return Explanation(course, person, course_name, person_name, now, actions)


# -- the model in words: lines of text, and JSON ----------------------------------------


def explanation_text(explanations: list[Explanation], tz: tzinfo) -> list[tuple[str, str | None]]:
    """Every line `explain` prints, with the indent it wraps at (None: printed as it is)."""
    lines: list[tuple[str, str | None]] = []
    for number, explanation in enumerate(explanations):
        if number:
            lines.append(("", None))
        lines.append(
            (
                f"{explanation.person_name} in {explanation.course_name} "
                f"({explanation.course}/{explanation.person})",
                None,
            )
        )
        for item in explanation.actions:
            lines.append(("", None))
            meaning = _meaning(item)
            action = item.decision.action
            title = words.action_title(action.name, action.id)
            lines.append((f"{title}: {item.state} — {meaning}", ""))
            lines.extend((line, "  ") for line in action_lines(item, tz))
            for event in item.history:
                at = from_utc_text(event["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
                detail = f" ({event['detail']})" if event["detail"] else ""
                lines.append((f"{at}  {words.state_word(event['state'])}{detail}", "  "))
    return lines


def explanation_json(explanations: list[Explanation], tz: tzinfo) -> Any:
    """One enrollment's explanation as a JSON object; several as a list of them."""
    objects = [_explanation_object(explanation, tz) for explanation in explanations]
    return objects[0] if len(objects) == 1 else objects


def _explanation_object(explanation: Explanation, tz: tzinfo) -> dict[str, Any]:
    return {
        "course": explanation.course,
        "person": explanation.person,
        "course_name": explanation.course_name,
        "person_name": explanation.person_name,
        "now": to_utc_text(explanation.now),
        "actions": [_action_object(item, tz) for item in explanation.actions],
    }


def _action_object(item: ActionExplained, tz: tzinfo) -> dict[str, Any]:
    decision, record = item.decision, item.record
    action, course = decision.action, decision.course
    return {
        "action": action.id,
        "due_at": to_utc_text(decision.due_at) if decision.due_at else None,
        "state": item.state,
        "meaning": _meaning(item),
        "attempts": record["attempts"] if record else 0,
        "last_error": record["last_error"] if record else None,
        "conditions": {
            "course_type": {
                "value": course.course_type,
                "linked_types": action.course_types,
                "linked": action.links(course.course_type),
            },
            "course_status": {
                "value": course.status,
                "wanted": action.conditions.course_status,
                "ok": decision.status_ok,
            },
            "attendance": {
                "check": action.conditions.attendance,
                **decision.attendance_object(),
            },
            "pass": {"check": action.conditions.pass_, **decision.pass_object()},
        },
        "waiting_on": decision.waiting_on,
        "settle": item.settle,
        "figures_when_decided": record["figures"] if record else None,
        "lines": action_lines(item, tz),
        "history": item.history,
    }


def _meaning(item: ActionExplained) -> str:
    """What the state means; a skipped one with a reason of its own (a reminder of a revoked
    certificate) says that reason, not that it was history before `since`."""
    if item.state == "skipped":
        reason = _skip_reason(item)
        if reason:
            return words.skipped_because(reason)
    return words.outcome_meaning(item.state)


def _skip_reason(item: ActionExplained) -> str | None:
    decision = item.decision
    if decision.outcome == "skipped" and decision.note:
        return decision.note
    figures = item.record.get("figures") if item.record else None
    reason = figures.get("reason") if isinstance(figures, dict) else None
    return str(reason) if reason else None


def action_lines(item: ActionExplained, tz: tzinfo) -> list[str]:
    """The due moment, each condition with its figures, what it waits on, what was sent and
    what settles a problem: the lines under an action in `explain`."""
    decision, record = item.decision, item.record
    if decision.outcome == "not_linked":
        # the action does not act on this course at all: figures would only distract
        lines = [decision.note or not_linked_reason(decision.action, decision.course)]
    else:
        lines = _decision_lines(decision, item.since, tz)
    if record:
        if record["sent_at"]:
            sent_at = from_utc_text(record["sent_at"]).astimezone(tz)
            # one marked sent by hand was never made here: no number, no Message-ID
            lines.append(words.sent_line(f"{sent_at:%Y-%m-%d %H:%M}", record["certificate_number"]))
            if record["message_id"]:
                lines.append(words.message_id_line(record["message_id"]))
        if record["last_error"]:
            lines.append(words.last_error_line(record["last_error"]))
    if item.settle:
        lines.append(words.settle_line(item.settle))
    return lines


def _decision_lines(decision: Decision, since: datetime | None, tz: tzinfo) -> list[str]:
    """The due moment, each condition with its figures, the `since` and what it waits on."""
    action = decision.action
    a, p = decision.attendance, decision.passing
    timing, checks = action.timing, action.conditions
    due = decision.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if decision.due_at else None
    if timing.renews is not None:
        due_text = words.expiry_due_line(due, timing.offset, timing.unit, timing.renews, timing.at)
    else:
        due_text = words.due_line(due, timing.offset, timing.unit, timing.after or "", timing.at)
    lines = [
        due_text,
        words.status_line(decision.course.status, checks.course_status, decision.status_ok),
        words.attendance_line(
            a.present,
            a.required_parts,
            a.percentage,
            a.threshold,
            a.needed,
            words.condition_verdict(checks.attendance, a.met),
        ),
        words.pass_line(
            p.passed,
            p.required_parts,
            decision.participant.failed_parts,
            words.condition_verdict(checks.pass_, p.met),
        ),
    ]
    if since is not None:
        lines.append(words.covers_line(f"{since.astimezone(tz):%Y-%m-%d %H:%M %Z}"))
    if decision.outcome != "skipped":  # a skipped one's reason heads its action
        lines.extend(words.waits_line(reason) for reason in decision.waiting_on)
    return lines


def _shown_state(record: dict[str, Any] | None, outcome: str) -> str:
    """The logged state, unless a pending or skipped delivery is decided afresh now."""
    if record is None:
        return outcome
    logged: str = record["state"]
    if logged in ("pending", "skipped") and outcome not in ("done", "retry_later", "skipped"):
        return outcome
    return logged


def preview_message(
    store: Store, config: Config, action: str, course: str, person: str, now: datetime
) -> Mail:
    """The message one delivery would carry, rendered now; nothing is written or sent."""
    templates = Templates.checked(config)
    decision = decisions_of(store, config, course, person, now, action)[0]
    record = History(store).find(decision.key) or {}
    delivery = DeliveryRef(
        record.get("id"),
        record.get("certificate_number") or "PREVIEW",
        record.get("message_id") or "<preview@certify.invalid>",
        "PREV-IEW0-0000",  # the code a certificate gets when it is sent; none is given here
    )
    context = DeliveryContexts(store.conn, config).read(decision, delivery, now)
    try:
        return render_message(
            templates,
            decision.action,
            context,
            message_id=delivery.message_id,
            sent_at=now.astimezone(config.tz),
        )
    except TemplateProblem as problem:
        raise ConfigError(
            "templates",
            [
                _("{problem} (participant {participant})").format(
                    problem=line, participant=f"{course}/{person}"
                )
                for line in problem.problems
            ],
            hint=_("fix the template; `certify validate --db DB` checks every action this way"),
        ) from None
    except (AddressError, MissingGlyphs) as exc:
        lines = getattr(exc, "problems", None) or [str(exc)]
        raise CertifyError(
            f"{course}/{person}: {'; '.join(lines)}",
            hint=_(
                "a fault of this person's data: correct it in the export and import again; "
                "a run fails only this delivery"
            ),
        ) from None
