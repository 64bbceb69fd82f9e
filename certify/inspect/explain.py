"""What certify would do for one participant, and why: `explain` and `preview`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from certify.clock import from_utc_text, to_utc_text
from certify.config import Config
from certify.decide.decisions import Decision, effective_since, not_linked_reason
from certify.decide.facts import enrollments_of, find_people
from certify.decide.plan import make_plan
from certify.deliver.log import DeliveryLog
from certify.errors import CertifyError, ConfigError, MissingGlyphs
from certify.inspect.history import History, settle_command
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
            f"person {person!r} is not enrolled in course {course!r}",
            hint="check the ids with the enrollments export",
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
            meant += f" or {len(matches) - 5} more"
        return CertifyError(
            f"no person with id {person!r}",
            hint=(f"did you mean {meant}? " if meant else "")
            + f"--person takes a person_id; `certify explain --person {person}` finds people "
            "by name or e-mail address",
        )
    if not course_known:
        return CertifyError(
            f"no course with id {course!r}",
            hint=f"`certify explain --person {person}` lists the courses of {name}",
        )
    if not enrolled:
        courses = [cid for cid, _, _ in enrollments_of(conn, person)]
        return CertifyError(
            f"{person} {name} is not enrolled in course {course!r}",
            hint=f"{person} is enrolled in {', '.join(courses[:10])}"
            + (f" and {len(courses) - 10} more" if len(courses) > 10 else "")
            if courses
            else "check the ids with the enrollments export",
        )
    return None


def resolve_participant(store: Store, person: str, course: str | None) -> tuple[str, str]:
    """(course_id, person_id) from a person named by id, e-mail address or part of a name,
    and a course id (which may be left out when the person has one enrollment)."""
    people = find_people(store.conn, person)
    if not people:
        raise CertifyError(
            f"no person matches {person!r}",
            hint="give a person_id, an e-mail address or part of a name",
        )
    if len(people) > 1:
        listed = "; ".join(f"{pid} {name} <{email}>" for pid, name, email in people[:20])
        more = f" and {len(people) - 20} more" if len(people) > 20 else ""
        raise CertifyError(
            f"{len(people)} persons match {person!r}: {listed}{more}",
            hint="choose one: --person with their id or e-mail address",
        )
    person_id = people[0][0]
    if course is not None:
        return course, person_id
    enrollments = enrollments_of(store.conn, person_id)
    if len(enrollments) == 1:
        return enrollments[0][0], person_id
    if not enrollments:
        raise CertifyError(f"{person_id} {people[0][1]} is not enrolled in any course")
    listed = "; ".join(f"{cid} {name}" for cid, name, _ in enrollments[:20])
    raise CertifyError(
        f"{person_id} {people[0][1]} is enrolled in {len(enrollments)} courses: {listed}",
        hint="choose one with --course",
    )


def settling(state: str, key: tuple[str, str, str], last_error: str | None) -> str | None:
    """What settles a delivery in this state, in words around the command, if it needs it."""
    if state in ("pending", "retry_later", "send") and not last_error:
        return None  # nothing went wrong: it simply goes with the next run
    if last_error and last_error.startswith("not sent:"):
        return "fix the template (certify validate --db ...); the next run sends it"
    command = settle_command(state, key)
    if command is None:
        return None
    if state == "failed":
        return f"fix the cause, then: {command}"
    if state == "unknown":
        return f"check the mail server's log, then: {command}"
    if state == "expired":
        return f"to send it anyway: {command}"
    return f"the next runs retry it; to try now: {command}"


def _names(store: Store, course: str, person: str) -> tuple[str, str]:
    row = store.conn.execute(
        "SELECT (SELECT name FROM courses WHERE course_id = ?), "
        "(SELECT coalesce(full_name, person_id) FROM persons WHERE person_id = ?)",
        (course, person),
    ).fetchone()
    return row[0] or course, row[1] or person


STATE_WORDS = {
    "send": "due now: would be sent by the next run",
    "waiting": "waiting on a condition",
    "not_due": "not yet due",
    "skipped": "skipped: due before the action's `since` (no mailing of history)",
    "expired": "expired: due longer ago than expire_after",
    "retry_later": "pending: retry after a temporary failure",
    "manual": "manual action: sent only by `certify send`",
    "cancelled": "enrollment cancelled: nothing is sent",
    "not_linked": "nothing is sent for courses of this type",
}


def explain_participant(
    store: Store, config: Config, course: str, person: str, now: datetime
) -> dict[str, Any]:
    """Per action: the due moment, each condition with the figures, the state and history."""
    tz = config.tz
    recorded = DeliveryLog(store, now).recorded_since()
    past = History(store)
    course_name, person_name = _names(store, course, person)
    result: dict[str, Any] = {
        "course": course,
        "person": person,
        "course_name": course_name,
        "person_name": person_name,
        "now": to_utc_text(now),
        "actions": [],
    }
    for decision in decisions_of(store, config, course, person, now):
        action = decision.action
        a, p = decision.attendance, decision.passing
        record = past.find(decision.key)
        history = past.events(record["id"]) if record else []
        state = _shown_state(record, decision.outcome)
        wanted = action.conditions.course_status
        lines: list[str] = []
        due = (
            decision.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
            if decision.due_at
            else None
        )
        if decision.outcome == "not_linked":
            # the action does not act on this course at all: figures would only distract
            lines = [not_linked_reason(action, decision.course)]
        else:
            _explain_lines(lines, config, decision, due, recorded, now)
        if record:
            if record["sent_at"]:
                sent_at = from_utc_text(record["sent_at"]).astimezone(tz)
                number = record["certificate_number"]
                # one marked sent by hand was never made here: no number, no Message-ID
                lines.append(
                    f"sent at {sent_at:%Y-%m-%d %H:%M}"
                    + (f", certificate {number}" if number else "")
                )
                if record["message_id"]:
                    lines.append(f"Message-ID {record['message_id']}")
            if record["last_error"]:
                lines.append(f"last error: {record['last_error']}")
        settle = settling(state, decision.key, record["last_error"] if record else None)
        if settle:
            lines.append(f"settle: {settle}")
        result["actions"].append(
            {
                "action": action.id,
                "due_at": to_utc_text(decision.due_at) if decision.due_at else None,
                "state": state,
                "meaning": STATE_WORDS.get(state, state),
                "attempts": record["attempts"] if record else 0,
                "last_error": record["last_error"] if record else None,
                "conditions": {
                    "course_type": {
                        "value": decision.course.course_type,
                        "linked_types": action.course_types,
                        "linked": action.links(decision.course.course_type),
                    },
                    "course_status": {
                        "value": decision.course.status,
                        "wanted": wanted,
                        "ok": decision.status_ok,
                    },
                    "attendance": {
                        "check": action.conditions.attendance,
                        "present": a.present,
                        "required_parts": a.required_parts,
                        "percentage": a.percentage,
                        "threshold": a.threshold,
                        "needed": a.needed,
                        "met": a.met,
                    },
                    "pass": {
                        "check": action.conditions.pass_,
                        "passed": p.passed,
                        "required_parts": p.required_parts,
                        "met": p.met,
                    },
                },
                "waiting_on": decision.waiting_on,
                "settle": settle,
                "figures_when_decided": record["figures"] if record else None,
                "lines": lines,
                "history": history,
            }
        )
    return result


def _explain_lines(
    lines: list[str],
    config: Config,
    decision: Decision,
    due: str | None,
    recorded: dict[str, datetime],
    now: datetime,
) -> None:
    """The due moment, each condition with its figures, the `since` and what it waits on."""
    action = decision.action
    a, p = decision.attendance, decision.passing
    wanted = action.conditions.course_status
    anchor = action.timing.after.replace("_", " ")
    unit = action.timing.unit.removesuffix("s") if action.timing.offset == 1 else action.timing.unit
    lines.append(
        f"due: {due} ({action.timing.offset} {unit} after {anchor}"
        + (f", at {action.timing.at}" if action.timing.at else "")
        + ")"
        if due
        else f"due: not yet known (waits for {anchor})"
    )
    lines.append(
        f"course status {decision.course.status!r}"
        + (
            f", needs {' or '.join(wanted)}: {'ok' if decision.status_ok else 'NOT MET'}"
            if wanted
            else " (any status)"
        )
    )
    checks = action.conditions
    if a.required_parts:
        figures = (
            f"present {a.present} of {a.required_parts} required parts ({a.percentage} %), "
            f"needs {a.threshold} % = {a.needed}"
        )
    else:
        figures = "no attendance requirement"
    lines.append(f"attendance: {figures}: {_verdict(checks.attendance, a.met)}")
    if p.required_parts:
        failed = decision.participant.failed_parts
        figures = f"passed {p.passed} of {p.required_parts} required parts" + (
            f", failed {failed}" if failed else ""
        )
    else:
        figures = "no pass requirement"
    lines.append(f"pass: {figures}: {_verdict(checks.pass_, p.met)}")
    if action.since is not None or action.id in recorded:
        since = effective_since(config, action, recorded, now).astimezone(config.tz)
        lines.append(f"covers deliveries due from {since:%Y-%m-%d %H:%M %Z}")
    for reason in decision.waiting_on:
        lines.append(f"waits: {reason}")


def _shown_state(record: dict[str, Any] | None, outcome: str) -> str:
    """The logged state, unless a pending or skipped delivery is decided afresh now."""
    if record is None:
        return outcome
    logged: str = record["state"]
    if logged in ("pending", "skipped") and outcome not in ("done", "retry_later", "skipped"):
        return outcome
    return logged


def _verdict(check: str, met: bool) -> str:
    word = "met" if met else "not met"
    if check == "no":
        return f"{word} (not checked by this action)"
    if check == "not_met":
        return f"{word} (this action wants it not met: {'ok' if not met else 'NOT OK'})"
    return "met" if met else "NOT MET"


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
            [f"{line} (participant {course}/{person})" for line in problem.problems],
            hint="fix the template; `certify validate --db DB` checks every action this way",
        ) from None
    except (AddressError, MissingGlyphs) as exc:
        lines = getattr(exc, "problems", None) or [str(exc)]
        raise CertifyError(
            f"{course}/{person}: {'; '.join(lines)}",
            hint="a fault of this person's data: correct it in the export and import again; "
            "a run fails only this delivery",
        ) from None
