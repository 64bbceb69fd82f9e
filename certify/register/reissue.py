"""A re-issue: a new certificate (new number and code) rendered from today's data, mailed
with its action's templates, that supersedes the old one once it is issued.

It is a delivery like any other, logged under a key of its own (`ACTION.reissue.NUMBER`):
claimed, marked `sending`, recorded, settled after a kill by the same recovery, and never
sent twice, because one old certificate has one such key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from certify.clock import to_utc_text
from certify.config import Config
from certify.deliver.interruption import recover
from certify.deliver.log import DeliveryLog
from certify.deliver.results import DeliveryResult
from certify.deliver.runner import Runner
from certify.deliver.state import MAYBE_DELIVERED
from certify.deliver.transports import Transport
from certify.errors import CertifyError, ConfigError
from certify.locale import _
from certify.register.keep import CertificateState, Entry, Register
from certify.store.database import Store
from certify.words import certificate_state_word, state_word


def reissue_key(entry: Entry) -> tuple[str, str, str]:
    """The delivery key of the re-issue of one certificate: one per certificate."""
    return (f"{entry.action}.reissue.{entry.number}", entry.course_id, entry.person_id)


def reissue(
    store: Store,
    config: Config,
    reference: str,
    reason: str,
    now: datetime,
    transport: Transport | None,
    warn: Callable[[str], None],
) -> tuple[Entry, DeliveryResult]:
    """Re-issue the certificate a number or code names; `transport` None: a dry run that
    renders the message and changes nothing. Call it under the run lock: it first recovers
    what a killed run left (each note to `warn`), as `run-due` does."""
    from certify.inspect.explain import decisions_of
    from certify.render.templates import Templates

    if transport is not None:
        for note in recover(DeliveryLog(store, now), transport):
            warn(_("recovered: {note}").format(note=note))
    entry = Register(store, now.astimezone(config.tz).date()).find(reference)
    # a revoked one too: a new valid certificate would quietly undo the revocation
    if entry.state in (
        CertificateState.SUPERSEDED,
        CertificateState.WITHDRAWN,
        CertificateState.REVOKED,
    ):
        said = (
            _("certificate {number} is {state} by {by}: not re-issued")
            if entry.superseded_by
            else _("certificate {number} is {state}: not re-issued")
        )
        raise CertifyError(
            said.format(
                number=entry.number,
                state=certificate_state_word(entry.state),
                by=entry.superseded_by,
            )
        )
    key = reissue_key(entry)
    row = store.conn.execute(
        "SELECT state, certificate_number FROM deliveries "
        "WHERE action = ? AND course_id = ? AND person_id = ?",
        key,
    ).fetchone()
    if row is not None and row[0] in MAYBE_DELIVERED:
        raise CertifyError(
            _("certificate {number} is already re-issued as {new} ({state})").format(
                number=entry.number, new=row[1], state=state_word(row[0])
            ),
            hint=_("an unknown one may have reached the person: check the mail server's log"),
        )
    templates = Templates.checked(config)
    decision = decisions_of(store, config, entry.course_id, entry.person_id, now, entry.action)[0]
    runner = Runner(store, config, templates, now)
    runner.ready()  # a key that cannot sign refuses before the re-issue is recorded
    if transport is None:
        return entry, runner.rehearse(decision)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO certificate_events (number, at, event, detail) "
            "VALUES (?, ?, 'reissue', ?)",
            (entry.number, to_utc_text(now), reason),
        )
    try:
        outcome = runner.deliver(decision, transport, replacing=(key, entry.number))
    finally:
        runner.close()
    if outcome.state == "held":
        raise ConfigError(
            "templates",
            [outcome.error or _("the template could not be rendered")],
            hint=_("fix the template (certify validate), then re-issue again"),
        )
    return entry, outcome
