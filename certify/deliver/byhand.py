"""An administrator's own hand on deliveries: send one now, mark one, or re-queue many.

Each of these first recovers what a killed run left behind, as `run-due` does, and the
command line holds the run lock around them, so they never race a running `run-due`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from certify.config import Config
from certify.decide.decisions import not_linked_reason, unmet_conditions
from certify.deliver.interruption import recover
from certify.deliver.log import DeliveryLog, MarkRefused
from certify.deliver.lookup import DeliveryLookup
from certify.deliver.results import DeliveryResult
from certify.deliver.runner import Runner
from certify.deliver.state import MAYBE_DELIVERED, RETRYABLE, DeliveryState
from certify.deliver.transports import Transport
from certify.errors import CertifyError, ConfigError, UsageError
from certify.inspect.explain import decisions_of, missing_participant
from certify.locale import _
from certify.render.templates import Templates
from certify.store.database import Store
from certify.words import state_word


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
        warn(_("recovered: {note}").format(note=note))
    templates = Templates.checked(config)
    decision = decisions_of(store, config, course, person, now, action)[0]
    existing = decision.existing
    if existing is not None and existing.state in MAYBE_DELIVERED and not force:
        raise CertifyError(
            _("{action} for {course}/{person} is already {state}").format(
                action=action, course=course, person=person, state=state_word(existing.state)
            ),
            hint=_(
                "to send it again (say, after the address was corrected) add --force --reason TEXT"
            )
            if existing.state == DeliveryState.SENT
            else _(
                "it may have reached the person; check the mail server's log, then "
                "`certify mark {action} --course {course} --person {person} --as sent --reason ...` "
                "or send again with --force --reason TEXT"
            ).format(action=action, course=course, person=person),
        )
    if decision.participant.status == "cancelled" and not force:
        raise CertifyError(
            _("the enrollment of {person} in {course} is cancelled").format(
                person=person, course=course
            ),
            hint=_("add --force --reason TEXT to send anyway"),
        )
    unmet = unmet_conditions(decision)
    if unmet and not force:
        raise CertifyError(
            _("the conditions of {action} do not hold for {course}/{person}: {unmet}").format(
                action=action, course=course, person=person, unmet="; ".join(unmet)
            ),
            hint=_("see certify explain; add --force --reason TEXT to send anyway"),
        )
    runner = Runner(store, config, templates, now)
    try:
        result = runner.deliver(decision, transport, forced_reason=reason if force else None)
    finally:
        runner.close()
    if result.state == "held":
        raise ConfigError(
            "templates",
            [result.error or _("the template could not be rendered")],
            hint=_(
                "fix the template (certify validate), then send again; the delivery stays pending"
            ),
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
        warn(_("recovered: {note}").format(note=note))
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
            _(
                "{action} for {course}/{person} was being handed over by a run that was killed: "
                "it may have arrived, and is unknown now"
            ).format(action=action, course=course, person=person),
            hint=_(
                "check the mail server's log (or the outbox), then mark it again: --as sent "
                "if it arrived, --as failed if it did not"
            ),
        )
    decided = None
    if state == DeliveryState.SENT and after is None:
        decision = decisions_of(store, config(), course, person, now, action)[0]
        if decision.outcome in ("not_linked", "cancelled") and not force:
            why = (
                not_linked_reason(decision.action, decision.course)
                if decision.outcome == "not_linked"
                else _("the enrollment of {person} in {course} is cancelled").format(
                    person=person, course=course
                )
            )
            raise CertifyError(
                _("no run sends {action} for {course}/{person}: {why}").format(
                    action=action, course=course, person=person, why=why
                ),
                hint=_("check the action and ids; add --force to record it as sent anyway"),
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
        return _("{which}: recorded as sent (handed over another way); no run sends it").format(
            which=which
        )
    if was == state:
        return _("{which} is already {state}; nothing changed").format(
            which=which, state=state_word(state)
        )
    if state == DeliveryState.FAILED:
        return _(
            "{which}: marked failed (was {was}); "
            "a later `certify retry --state failed` sends it again"
        ).format(which=which, was=state_word(was))
    return _("{which}: marked sent (was {was}); no run sends it").format(
        which=which, was=state_word(was)
    )


def _refusal(refused: MarkRefused) -> CertifyError:
    """Why `mark` did not change a delivery, and what to do instead."""
    action, course, person = refused.key
    which = _("{action} for {course}/{person}").format(action=action, course=course, person=person)
    current, wanted = refused.current, refused.wanted
    if current is None:
        return CertifyError(
            _(
                "no delivery of {which} in the log: nothing was sent, so nothing can be marked "
                "{wanted}"
            ).format(which=which, wanted=state_word(wanted)),
            hint=_(
                "`--as sent` records one handed over another way; "
                "`certify explain --person {person} --course {course}` says why none was made"
            ).format(person=person, course=course),
        )
    if current == DeliveryState.SENT:
        return CertifyError(
            _("{which} was sent: marking it {wanted} needs --force").format(
                which=which, wanted=state_word(wanted)
            ),
            hint=_(
                "if it bounced and never reached the person, add --force; "
                "a later `certify retry --state failed` will then send it again"
            ),
        )
    if current in (DeliveryState.SKIPPED, DeliveryState.EXPIRED):
        why = (
            _("due before the action's `since` (no mailing of history)")
            if current == DeliveryState.SKIPPED
            else _("due longer ago than expire_after")
        )
        command = f"certify send {action} --course {course} --person {person} --force --reason TEXT"
        return CertifyError(
            _("{which} is {state}: {why}, so no run sends it").format(
                which=which, state=state_word(current), why=why
            ),
            hint=(
                _(
                    "to send it now: {command}; to mark it sent anyway "
                    "(handed over another way), add --force"
                )
                if wanted == DeliveryState.SENT
                else _("to send it now: {command}; to mark it {wanted} anyway, add --force")
            ).format(command=command, wanted=state_word(wanted)),
        )
    return CertifyError(  # a run's claim not recovered yet: `recover` comes first
        _("{which} is {state}: a run holds it").format(which=which, state=state_word(current)),
        hint=_("run `certify run-due`, which recovers what a killed run left, then mark again"),
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
        raise UsageError(_("--state takes failed or unknown"))
    if state == DeliveryState.UNKNOWN and not force:
        raise UsageError(
            _("an `unknown` delivery may have arrived: re-queueing it can send a second copy"),
            hint=_("check the mail server's log first; add --force to re-queue anyway"),
        )
    return DeliveryLog(store, now).retry(state, reason, action=action, course=course, person=person)
