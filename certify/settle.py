"""An administrator's own hand on deliveries: send one now, mark one, or re-queue many.

Each of these first settles what a killed run left behind, as `run-due` does, and the
command line holds the run lock around them, so they never race a running `run-due`.
"""

from __future__ import annotations

from datetime import datetime

from certify.config import Config
from certify.decisions import unmet_conditions
from certify.deliveries import DeliveryLog
from certify.errors import CertifyError, ConfigError, UsageError
from certify.explain import decisions_of
from certify.outcome import DeliveryOutcome
from certify.runner import Runner
from certify.store import Store
from certify.templates import Templates
from certify.transports import Transport, safe_file_name

# States in which a delivery may already be on its way or delivered: never again by chance.
IN_HAND = ("claimed", "sending", "sent", "unknown")


def recover(store: Store, now: datetime, transport: Transport | None) -> list[str]:
    """Settle what a killed run left; without a transport, a maybe-sent message is unknown."""
    log = DeliveryLog(store, now)
    if transport is None:
        return log.recover(lambda key: None)
    return log.recover(lambda key: transport.was_delivered(safe_file_name(*key)))


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
    """Send one delivery now: a manual action, or with `force` an audited re-send.

    Call `recover` first, under the run lock, as `run-due` does.
    """
    templates = Templates.checked(config)
    decision = decisions_of(store, config, course, person, now, action)[0]
    existing = decision.existing
    if existing is not None and existing.state in IN_HAND and not force:
        raise CertifyError(
            f"{action} for {course}/{person} is already {existing.state}",
            hint="to send it again (say, after the address was corrected) add --force --reason TEXT"
            if existing.state == "sent"
            else "it may have reached the person; check the mail server's log, then "
            f"`certify mark {action} --course {course} --person {person} --as sent --reason ...` "
            "or send again with --force --reason TEXT",
        )
    if decision.participant.status == "cancelled" and not force:
        raise CertifyError(
            f"the enrollment of {person} in {course} is cancelled",
            hint="add --force --reason TEXT to send anyway",
        )
    unmet = unmet_conditions(decision)
    if unmet and not force:
        raise CertifyError(
            f"the conditions of {action} do not hold for {course}/{person}: {'; '.join(unmet)}",
            hint="see certify explain; add --force --reason TEXT to send anyway",
        )
    runner = Runner(store, config, templates, now)
    try:
        outcome = runner.deliver(decision, transport, forced_reason=reason if force else None)
    finally:
        runner.close()
    if outcome.state == "held":
        raise ConfigError(
            "templates",
            [outcome.error or "the template could not be rendered"],
            hint="fix the template (certify validate), then send again; the delivery stays pending",
        )
    return outcome


def mark_delivery(
    store: Store, action: str, course: str, person: str, state: str, reason: str, now: datetime
) -> None:
    """Settle a delivery by hand, with the reason in its history."""
    DeliveryLog(store, now).mark((action, course, person), state, reason)


def retry_deliveries(
    store: Store,
    now: datetime,
    state: str,
    reason: str,
    *,
    force: bool,
    action: str | None = None,
    course: str | None = None,
    person: str | None = None,
) -> int:
    """Re-queue `failed` (or, with force, `unknown`) deliveries; returns how many."""
    if state not in ("failed", "unknown"):
        raise UsageError("--state takes failed or unknown")
    if state == "unknown" and not force:
        raise UsageError(
            "an `unknown` delivery may have arrived: re-queueing it can send a second copy",
            hint="check the mail server's log first; add --force to re-queue anyway",
        )
    return DeliveryLog(store, now).retry(state, reason, action=action, course=course, person=person)
