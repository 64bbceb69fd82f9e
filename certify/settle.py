"""An administrator's own hand on deliveries: send one now, or settle one in the log."""

from __future__ import annotations

from datetime import datetime

from certify.config import Config
from certify.decisions import unmet_conditions
from certify.deliveries import DeliveryLog
from certify.errors import CertifyError
from certify.explain import decisions_of
from certify.render import Templates
from certify.runner import DeliveryOutcome, Runner
from certify.store import Store
from certify.transports import Transport


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
    """Send one delivery now: a manual action, or with `force` an audited re-send."""
    templates = Templates.checked(config)
    decision = decisions_of(store, config, course, person, now, action)[0]
    existing = decision.existing
    if existing is not None and existing.state in ("sent", "unknown") and not force:
        raise CertifyError(
            f"{action} for {course}/{person} is already {existing.state}",
            hint="to send it again (say, after the address was corrected) add --force --reason TEXT",
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
    transport.open()
    try:
        return runner.deliver(decision, transport, forced_reason=reason if force else None)
    finally:
        transport.close()


def mark_delivery(
    store: Store, action: str, course: str, person: str, state: str, reason: str, now: datetime
) -> None:
    """Settle a delivery by hand, with the reason in its history."""
    DeliveryLog(store, now).mark((action, course, person), state, reason)
