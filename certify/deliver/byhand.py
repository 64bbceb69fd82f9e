"""An administrator's own hand on deliveries: send one now, mark one, or re-queue many.

Each of these first recovers what a killed run left behind, as `run-due` does, and the
command line holds the run lock around them, so they never race a running `run-due`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from certify.config import Config
from certify.decide.decisions import not_linked_reason, unmet_conditions
from certify.deliver.log import DeliveryLog, MarkRefused
from certify.deliver.lookup import DeliveryLookup
from certify.deliver.results import DeliveryResult
from certify.deliver.runner import Runner, recover
from certify.deliver.state import MAYBE_DELIVERED, RETRYABLE, DeliveryState
from certify.deliver.transports import Transport
from certify.errors import CertifyError, ConfigError, UsageError
from certify.inspect.explain import decisions_of, missing_participant
from certify.render.templates import Templates
from certify.store.database import Store


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
    warn: Callable[[str], None],
) -> DeliveryResult:
    """Recover what a killed run left (each note to `warn`), then send one delivery now: a
    manual action, or with `force` an audited re-send. Call it under the run lock."""
    for note in recover(DeliveryLog(store, now), transport):
        warn(f"recovered: {note}")
    templates = Templates.checked(config)
    decision = decisions_of(store, config, course, person, now, action)[0]
    existing = decision.existing
    if existing is not None and existing.state in MAYBE_DELIVERED and not force:
        raise CertifyError(
            f"{action} for {course}/{person} is already {existing.state}",
            hint="to send it again (say, after the address was corrected) add --force --reason TEXT"
            if existing.state == DeliveryState.SENT
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
        result = runner.deliver(decision, transport, forced_reason=reason if force else None)
    finally:
        runner.close()
    if result.state == "held":
        raise ConfigError(
            "templates",
            [result.error or "the template could not be rendered"],
            hint="fix the template (certify validate), then send again; the delivery stays pending",
        )
    return result


def mark_delivery(
    store: Store,
    action: str,
    course: str,
    person: str,
    state: DeliveryState,
    reason: str,
    now: datetime,
    *,
    force: bool,
    config: Callable[[], Config],
    transport: Transport | None,
    warn: Callable[[str], None],
) -> str:
    """Recover what a killed run left (each note to `warn`), then set a delivery's state by
    hand, with the reason in its history; returns what was done.

    `config` is read only for a participant without a record, to record one `sent`.
    """
    log = DeliveryLog(store, now)
    logged = DeliveryLookup(store)
    key = (action, course, person)
    before = logged.of(course, person).get(key)
    for note in recover(log, transport):
        warn(f"recovered: {note}")
    after = logged.of(course, person).get(key)
    if (
        before is not None
        and before.state == DeliveryState.SENDING
        and after is not None
        and after.state == DeliveryState.UNKNOWN
        and state == DeliveryState.FAILED
        and not force
    ):
        # the administrator has not seen it `unknown` yet: marking it failed now would have
        # the next retry send a second copy of a message that may have arrived
        raise CertifyError(
            f"{action} for {course}/{person} was being handed over by a run that was killed: "
            "it may have arrived, and is unknown now",
            hint="check the mail server's log (or the outbox), then mark it again: --as sent "
            "if it arrived, --as failed if it did not",
        )
    decided = None
    if state == DeliveryState.SENT and after is None:
        decision = decisions_of(store, config(), course, person, now, action)[0]
        if decision.outcome in ("not_linked", "cancelled") and not force:
            why = (
                not_linked_reason(decision.action, decision.course)
                if decision.outcome == "not_linked"
                else f"the enrollment of {person} in {course} is cancelled"
            )
            raise CertifyError(
                f"no run sends {action} for {course}/{person}: {why}",
                hint="check the action and ids; add --force to record it as sent anyway",
            )
        decided = decision.decided()
    elif after is None:  # say first that the action, person, course or enrollment is not there
        config().action(action)
        missing = missing_participant(store, course, person)
        if missing is not None:
            raise missing
    try:
        was = log.mark(key, state, reason, force=force, decided=decided)
    except MarkRefused as refused:
        raise _refusal(refused) from None
    which = f"{action} {course}/{person}"
    if was is None:
        return f"{which}: recorded as sent (handed over another way); no run sends it"
    if was == state:
        return f"{which} is already {state}; nothing changed"
    if state == DeliveryState.FAILED:
        return (
            f"{which}: marked failed (was {was}); "
            "a later `certify retry --state failed` sends it again"
        )
    return f"{which}: marked sent (was {was}); no run sends it"


def _refusal(refused: MarkRefused) -> CertifyError:
    """Why `mark` did not change a delivery, and what to do instead."""
    action, course, person = refused.key
    which = f"{action} for {course}/{person}"
    current, wanted = refused.current, refused.wanted
    if current is None:
        return CertifyError(
            f"no delivery of {which} in the log: nothing was sent, so nothing can be marked "
            f"{wanted}",
            hint="`--as sent` records one handed over another way; "
            f"`certify explain --person {person} --course {course}` says why none was made",
        )
    if current == DeliveryState.SENT:
        return CertifyError(
            f"{which} was sent: marking it {wanted} needs --force",
            hint="if it bounced and never reached the person, add --force; "
            "a later `certify retry --state failed` will then send it again",
        )
    if current in (DeliveryState.SKIPPED, DeliveryState.EXPIRED):
        why = (
            "due before the action's `since` (no mailing of history)"
            if current == DeliveryState.SKIPPED
            else "due longer ago than expire_after"
        )
        return CertifyError(
            f"{which} is {current}: {why}, so no run sends it",
            hint=f"to send it now: certify send {action} --course {course} --person {person} "
            f"--force --reason TEXT; to mark it {wanted} anyway"
            + (" (handed over another way)" if wanted == DeliveryState.SENT else "")
            + ", add --force",
        )
    return CertifyError(  # a run's claim not recovered yet: `recover` comes first
        f"{which} is {current}: a run holds it",
        hint="run `certify run-due`, which recovers what a killed run left, then mark again",
    )


def retry_deliveries(
    store: Store,
    now: datetime,
    state: DeliveryState,
    reason: str,
    *,
    force: bool,
    action: str | None = None,
    course: str | None = None,
    person: str | None = None,
) -> int:
    """Re-queue `failed` (or, with force, `unknown`) deliveries; returns how many."""
    if state not in RETRYABLE:
        raise UsageError("--state takes failed or unknown")
    if state == DeliveryState.UNKNOWN and not force:
        raise UsageError(
            "an `unknown` delivery may have arrived: re-queueing it can send a second copy",
            hint="check the mail server's log first; add --force to re-queue anyway",
        )
    return DeliveryLog(store, now).retry(state, reason, action=action, course=course, person=person)
