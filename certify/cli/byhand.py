"""An administrator's own hand on deliveries: `send`, `mark`, `retry`."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from certify.cli import app as common
from certify.cli.transport_options import TransportChoice, with_transport_options
from certify.deliver.state import DeliveryState
from certify.errors import EXIT_NOT_ACCEPTED, CertifyError, UsageError
from certify.locale import _, ngettext
from certify.store.database import Store, db_path
from certify.words import state_word

if TYPE_CHECKING:
    from certify.deliver.transports import Transport

ReasonOption = Annotated[
    str, typer.Option("--reason", metavar="TEXT", help="Why, for the delivery log.")
]


def _state_option(flag: str, states: tuple[DeliveryState, ...], help: str) -> Any:
    """An option that takes one of these states, in any case."""
    return typer.Option(flag, case_sensitive=False, metavar="|".join(states), help=help)


@common.app.command()
@with_transport_options
def send(
    action: Annotated[str, typer.Argument(help="The action id.")],
    course: common.CourseOption,
    person: common.PersonOption,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Send even if already sent, maybe sent, or the conditions do not hold "
            "(needs --reason).",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, for the log (required with --force).")
    ] = None,
    now: common.NowOption = None,
    via: TransportChoice = TransportChoice(),
    wait: common.WaitOption = 10.0,
    db: common.DbOption = None,
    actions: common.ActionsOption = None,
    as_json: common.JsonOption = False,
) -> None:
    """Send one delivery now: manual actions, or an audited re-send with --force."""
    from certify.deliver.byhand import send_one
    from certify.store.lock import run_lock

    with common.errors():
        if force and not reason:
            raise UsageError(_("--force needs --reason TEXT, for the delivery log"))
        config, moment = common.configured_at(actions, now)
        chosen = via.pick(config)
        path = db_path(db)
        with run_lock(path, wait), Store.open(path, create=False) as store:
            result = send_one(
                store, config, action, course, person, moment, chosen, force=force,
                reason=reason, warn=common.warn,
            )  # fmt: skip
    if as_json:
        common.emit_json(result.as_json())
    else:
        sent = result.state == DeliveryState.SENT
        common.plain(
            f"{state_word(result.state)}: {result.title or action} {course}/{person}"
            + (f" (Message-ID {result.message_id})" if sent else "")
            + (f": {result.error}" if result.error else "")
        )
    if result.state != DeliveryState.SENT:
        raise typer.Exit(EXIT_NOT_ACCEPTED)


@common.app.command()
def mark(
    action: Annotated[str, typer.Argument(help="The action id.")],
    course: common.CourseOption,
    person: common.PersonOption,
    state: Annotated[
        Literal["sent", "failed"],
        _state_option(
            "--as",
            (DeliveryState.SENT, DeliveryState.FAILED),
            "sent: it reached the person (found in the mail server's log, or handed over "
            "another way), and no run sends it; failed: it did not, and `certify retry` "
            "re-queues it. Settles a delivery that is unknown, pending or failed, and records "
            "one handed over another way for a participant without one (sent).",
        ),
    ],
    reason: ReasonOption,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also change a delivery that is sent (say, a bounce reported later: a later "
            "`certify retry --state failed` then sends it again), skipped or expired.",
        ),
    ] = False,
    wait: common.WaitOption = 10.0,
    db: common.DbOption = None,
    actions: common.ActionsOption = None,
) -> None:
    """Settle one delivery by hand: unknown, pending or failed, or one handed over another way.

    `--as sent` for an `unknown` delivery found in the mail server's log, or one handed over
    another way (no run sends it then); `--as failed` for one that did not arrive. A `sent`
    delivery changes only with --force. Marking the state it has changes nothing.
    """
    from certify.deliver.byhand import mark_delivery
    from certify.store.lock import run_lock

    with common.errors():
        if state not in (DeliveryState.SENT, DeliveryState.FAILED):
            raise UsageError(_("--as takes sent or failed"))
        path = db_path(db)
        moment = common.parse_now(None, UTC)
        with run_lock(path, wait), Store.open(path, create=False) as store:
            done = mark_delivery(
                store, action, course, person, DeliveryState(state), reason, moment, force=force,
                config=lambda: common.config_from(actions), transport=_configured_transport(actions),
                warn=common.warn,
            )  # fmt: skip
    common.plain(done)


def _configured_transport(actions: Path | None) -> Transport | None:
    """The transport actions.yaml names, to tell whether an interrupted message arrived."""
    from certify.deliver.transports import choose_transport

    try:
        return choose_transport(common.config_from(actions), transport=None, out=None)
    except CertifyError:
        return None


@common.app.command()
def retry(
    state: Annotated[
        Literal["failed", "unknown"],
        _state_option(
            "--state",
            (DeliveryState.FAILED, DeliveryState.UNKNOWN),
            "failed, or unknown (with --force): what to re-queue.",
        ),
    ],
    reason: ReasonOption,
    action: common.ActionFilter = None,
    course: common.CourseFilter = None,
    person: common.PersonFilter = None,
    force: Annotated[
        bool, typer.Option("--force", help="Needed for unknown: they may have arrived.")
    ] = False,
    wait: common.WaitOption = 10.0,
    db: common.DbOption = None,
) -> None:
    """Put failed (or unknown) deliveries back to pending; the next run sends them."""
    from certify.deliver.byhand import retry_deliveries
    from certify.store.lock import run_lock

    with common.errors():
        path = db_path(db)
        moment = common.parse_now(None, UTC)
        with run_lock(path, wait), Store.open(path, create=False) as store:
            count = retry_deliveries(
                store, moment, DeliveryState(state), reason, force=force, action=action, course=course,
                person=person,
            )  # fmt: skip
    common.plain(
        ngettext(
            "re-queued {count} {state} delivery; the next run-due sends it",
            "re-queued {count} {state} deliveries; the next run-due sends them",
            count,
        ).format(count=count, state=state_word(state))
    )
