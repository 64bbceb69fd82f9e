"""What certify tells an administrator: explain, preview, the log, one-off sends and settling."""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from certify.clock import from_utc_text, to_utc_text
from certify.config import Config
from certify.errors import CertifyError
from certify.plan import Decision, make_plan, unmet_conditions
from certify.render import Templates
from certify.runner import DeliveryOutcome, Runner, build_context
from certify.store import Store
from certify.transports import Transport


def _decisions(
    store: Store, config: Config, course: str, person: str, now: datetime, action: str | None = None
) -> list[Decision]:
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
        raise CertifyError(
            f"person {person!r} is not enrolled in course {course!r}",
            hint="check the ids with the enrollments export",
        )
    return plan.decisions


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
}


def explain_participant(
    store: Store, config: Config, course: str, person: str, now: datetime
) -> dict[str, Any]:
    tz = config.tz
    course_name, person_name = _names(store, course, person)
    result: dict[str, Any] = {
        "course": course, "person": person, "course_name": course_name,
        "person_name": person_name, "now": to_utc_text(now), "actions": [],
    }  # fmt: skip
    for decision in _decisions(store, config, course, person, now):
        action = decision.action
        a, p = decision.attendance, decision.passing
        row = store.conn.execute(
            "SELECT id, state, attempts, last_error, sent_at, message_id, certificate_number, "
            "figures, next_attempt_at FROM deliveries WHERE action = ? AND course_id = ? AND person_id = ?",
            decision.key,
        ).fetchone()
        history = []
        if row is not None:
            history = [
                {"at": at, "state": state, "detail": detail}
                for at, state, detail in store.conn.execute(
                    "SELECT at, state, detail FROM delivery_events WHERE delivery_id = ? ORDER BY id",
                    (row[0],),
                )
            ]
        state = row[1] if row is not None else decision.outcome
        if row is not None and row[1] in ("pending", "skipped") and decision.outcome != "done":
            state = row[1] if decision.outcome in ("retry_later", "skipped") else decision.outcome
        wanted = action.conditions.course_status
        lines = []
        due = (
            decision.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
            if decision.due_at
            else None
        )
        anchor = action.timing.after.replace("_", " ")
        unit = (
            action.timing.unit.removesuffix("s")
            if action.timing.offset == 1
            else action.timing.unit
        )
        lines.append(
            f"due: {due} ({action.timing.offset} {unit} after {anchor}"
            + (f", at {action.timing.at}" if action.timing.at else "") + ")"
            if due else f"due: not yet known (waits for {anchor})"
        )  # fmt: skip
        lines.append(
            f"course status {decision.course.status!r}"
            + (f", needs {' or '.join(wanted)}: {'ok' if decision.status_ok else 'NOT MET'}" if wanted else " (any status)")
        )  # fmt: skip
        checks = action.conditions
        if a.required_parts:
            figures = (
                f"present {a.present} of {a.required_parts} required parts = {a.percentage} %, "
                f"needs {a.threshold} % = {a.needed} parts"
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
        if action.since is not None or decision.action.id in _since(store):
            lines.append(
                f"covers deliveries due from {decision_since(store, config, decision, now)}"
            )
        for reason in decision.waiting_on:
            lines.append(f"waits: {reason}")
        if row is not None:
            if row[4]:
                lines.append(f"sent at {from_utc_text(row[4]).astimezone(tz):%Y-%m-%d %H:%M}, "
                             f"certificate {row[6]}, Message-ID {row[5]}")  # fmt: skip
            if row[3]:
                lines.append(f"last error: {row[3]}")
        result["actions"].append(
            {
                "action": action.id,
                "due_at": to_utc_text(decision.due_at) if decision.due_at else None,
                "state": state,
                "meaning": STATE_WORDS.get(state, state),
                "attempts": row[2] if row else 0,
                "last_error": row[3] if row else None,
                "conditions": {
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
                "figures_when_decided": json.loads(row[7]) if row and row[7] else None,
                "lines": lines,
                "history": history,
            }
        )
    return result


def _verdict(check: str, met: bool) -> str:
    word = "met" if met else "not met"
    if check == "no":
        return f"{word} (not checked by this action)"
    if check == "not_met":
        return f"{word} (this action wants it not met: {'ok' if not met else 'NOT OK'})"
    return "met" if met else "NOT MET"


def _since(store: Store) -> set[str]:
    return {row[0] for row in store.conn.execute("SELECT action FROM action_since")}


def decision_since(store: Store, config: Config, decision: Decision, now: datetime) -> str:
    from certify.plan import effective_since, recorded_since

    since = effective_since(config, decision.action, recorded_since(store.conn), now)
    return since.astimezone(config.tz).strftime("%Y-%m-%d %H:%M %Z")


def preview_message(
    store: Store, config: Config, action: str, course: str, person: str, now: datetime
) -> EmailMessage:
    templates = Templates.checked(config)
    decision = _decisions(store, config, course, person, now, action)[0]
    row = store.conn.execute(
        "SELECT id, message_id, certificate_number FROM deliveries "
        "WHERE action = ? AND course_id = ? AND person_id = ?",
        decision.key,
    ).fetchone()
    delivery_id, message_id, certificate = row if row else (None, None, None)
    message_id = message_id or "<preview@certify.invalid>"
    context = build_context(store, config, templates, decision, delivery_id=delivery_id,
                            certificate=certificate or "PREVIEW", message_id=message_id, now=now)  # fmt: skip
    return templates.render(
        decision.action, context, message_id=message_id, sent_at=now.astimezone(config.tz)
    )


def send_one(
    store: Store,
    config: Config,
    action: str,
    course: str,
    person: str,
    now: datetime,
    transport: Transport,
    *,
    force: bool,
    reason: str | None,
) -> DeliveryOutcome:
    templates = Templates.checked(config)
    decision = _decisions(store, config, course, person, now, action)[0]
    existing = decision.existing
    if existing is not None and existing.state in ("sent", "unknown") and not force:
        raise CertifyError(
            f"{action} for {course}/{person} is already {existing.state}",
            hint="to send it again (say, after the address was corrected) add --force --reason TEXT",
        )
    if decision.participant.status == "cancelled" and not force:
        raise CertifyError(f"the enrollment of {person} in {course} is cancelled",
                           hint="add --force --reason TEXT to send anyway")  # fmt: skip
    unmet = unmet_conditions(decision)
    if unmet and not force:
        raise CertifyError(
            f"the conditions of {action} do not hold for {course}/{person}: {'; '.join(unmet)}",
            hint="see certify explain; add --force --reason TEXT to send anyway",
        )
    runner = Runner(store, config, templates, now)
    transport.open()
    try:
        return runner.deliver(decision, transport, forced_reason=reason if force else None)
    finally:
        transport.close()


def mark_delivery(
    store: Store, action: str, course: str, person: str, state: str, reason: str
) -> None:
    row = store.conn.execute(
        "SELECT id, state FROM deliveries WHERE action = ? AND course_id = ? AND person_id = ?",
        (action, course, person),
    ).fetchone()
    if row is None:
        raise CertifyError(f"no delivery of {action} for {course}/{person} in the log")
    with store.transaction() as conn:
        conn.execute(
            "UPDATE deliveries SET state = ?, next_attempt_at = NULL, updated_at = "
            "strftime('%Y-%m-%dT%H:%M:%SZ','now'), sent_at = CASE WHEN ? = 'sent' "
            "THEN coalesce(sent_at, strftime('%Y-%m-%dT%H:%M:%SZ','now')) ELSE sent_at END "
            "WHERE id = ?",
            (state, state, row[0]),
        )
        conn.execute(
            "INSERT INTO delivery_events (delivery_id, at, state, detail) "
            "VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?)",
            (row[0], state, f"marked by hand (was {row[1]}): {reason}"),
        )


def delivery_log(store: Store, *, action: str | None, state: str | None) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        "SELECT action, course_id, person_id, email, state, attempts, last_error, sent_at, "
        "message_id, certificate_number, due_at, next_attempt_at, last_code, figures "
        "FROM deliveries WHERE (:a IS NULL OR action = :a) AND (:s IS NULL OR state = :s) "
        "ORDER BY coalesce(sent_at, updated_at), id",
        {"a": action, "s": state},
    ).fetchall()
    keys = ("action", "course", "person", "email", "state", "attempts", "last_error", "sent_at",
            "message_id", "certificate_number", "due_at", "next_attempt_at", "last_code")  # fmt: skip
    result = []
    for row in rows:
        item = dict(zip(keys, row[:-1], strict=True))
        item["figures"] = json.loads(row[-1]) if row[-1] else None
        result.append(item)
    return result
