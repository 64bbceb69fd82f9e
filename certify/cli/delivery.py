"""Sending and settling deliveries: `run-due`, `send`, `mark`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from certify.cli.app import (
    ActionsOption,
    CourseOption,
    DbOption,
    JsonOption,
    NowOption,
    PersonOption,
    app,
    config_from,
    emit_json,
    err,
    errors,
    interactive,
    out,
    parse_now,
    plain,
)
from certify.clock import from_utc_text
from certify.errors import EXIT_NOT_ACCEPTED, UsageError
from certify.store import Store, db_path

if TYPE_CHECKING:
    from certify.config import Action, Config
    from certify.runner import Runner, RunReport
    from certify.transports import Transport

TransportOption = Annotated[
    str | None,
    typer.Option("--transport", help="dir or smtp (else actions.yaml's delivery.transport)."),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="With --transport dir: the folder for .eml files.")
]
SmtpHostOption = Annotated[
    str | None, typer.Option("--smtp-host", envvar="CERTIFY_SMTP_HOST", help="SMTP server.")
]
SmtpPortOption = Annotated[
    int | None, typer.Option("--smtp-port", envvar="CERTIFY_SMTP_PORT", help="SMTP port.")
]
SmtpSecurityOption = Annotated[
    str | None,
    typer.Option(
        "--smtp-security", envvar="CERTIFY_SMTP_SECURITY", help="starttls (default), ssl or none."
    ),
]
SmtpUserOption = Annotated[
    str | None,
    typer.Option(
        "--smtp-user",
        envvar="CERTIFY_SMTP_USER",
        help="SMTP login; the password comes only from CERTIFY_SMTP_PASSWORD.",
    ),
]
SmtpCaFileOption = Annotated[
    Path | None,
    typer.Option(
        "--smtp-ca-file", envvar="CERTIFY_SMTP_CA_FILE", help="Trust this CA for the server."
    ),
]


@app.command("run-due")
def run_due(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; change nothing.")
    ] = False,
    now: NowOption = None,
    action: Annotated[
        list[str] | None, typer.Option("--action", help="Only this action id (repeatable).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Send at most N deliveries in this run.")
    ] = None,
    transport: TransportOption = None,
    out_dir: OutOption = None,
    smtp_host: SmtpHostOption = None,
    smtp_port: SmtpPortOption = None,
    smtp_security: SmtpSecurityOption = None,
    smtp_user: SmtpUserOption = None,
    smtp_ca_file: SmtpCaFileOption = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0, help="Seconds to wait for another run to finish, then exit 75."
        ),
    ] = 10.0,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send every delivery that is due now, and record why."""
    from certify.render import Templates
    from certify.runner import Runner, run_lock
    from certify.transports import choose_transport

    with errors():
        config = config_from(actions)
        templates = Templates.checked(config)
        moment = parse_now(now, config.tz)
        chosen = [config.action(a) for a in action] if action else config.actions
        path = db_path(db)
        log = _log_line if not as_json and not interactive() else (lambda line: None)
        if dry_run:
            with Store.open_readonly(path) as store:
                report = Runner(store, config, templates, moment).run(chosen, None, limit=limit)
        else:
            chosen_transport = choose_transport(
                config,
                transport=transport,
                out=out_dir,
                smtp_host=smtp_host,
                smtp_port=smtp_port,
                smtp_security=smtp_security,
                smtp_user=smtp_user,
                smtp_ca_file=smtp_ca_file,
            )
            with run_lock(path, wait), Store.open(path, create=False) as store:
                runner = Runner(store, config, templates, moment, log=log)
                if interactive() and not as_json:
                    report = _with_progress(runner, chosen, chosen_transport, limit)
                else:
                    report = runner.run(chosen, chosen_transport, limit=limit)
    if as_json:
        emit_json(report.as_json())
    else:
        _print_run(report, config)
    if report.not_accepted and not report.dry_run:
        raise typer.Exit(EXIT_NOT_ACCEPTED)


def _log_line(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    plain(f"{stamp} {line}")


def _with_progress(
    runner: Runner, chosen: list[Action], transport: Transport, limit: int | None
) -> RunReport:
    from rich.progress import Progress

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("sending", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return runner.run(chosen, transport, limit=limit, progress=advance)


def _print_run(report: RunReport, config: Config) -> None:
    tz = config.tz
    verb = "would send" if report.dry_run else "sent"
    if report.deliveries and (interactive() or report.dry_run):
        kind = "Dry run" if report.dry_run else "Run"
        grid = Table(title=f"{kind} at {report.now.astimezone(tz):%Y-%m-%d %H:%M %Z}")
        for column in ("action", "course", "person", "due", "state"):
            grid.add_column(column)
        for item in report.deliveries:
            due = (
                f"{from_utc_text(item.due_at).astimezone(tz):%Y-%m-%d %H:%M}" if item.due_at else ""
            )
            state = item.state + (f": {item.error}" if item.error else "")
            grid.add_row(item.action, item.course, item.person, due, state)
        out.print(grid)
    plain(
        f"{verb} {report.sent}, failed {report.failed}, pending {report.pending}, "
        f"unknown {report.unknown}, skipped {report.skipped}, expired {report.expired}; "
        f"waiting on conditions {report.waiting}, not yet due {report.not_due}"
    )
    if report.waiting_on and (report.dry_run or interactive()):
        grid = Table(title="What waits on what")
        grid.add_column("action: reason")
        grid.add_column("participants", justify="right")
        for reason, count in report.waiting_on.items():
            grid.add_row(reason, str(count))
        out.print(grid)
    if report.stopped:
        err.print(f"stopped: {report.stopped}", highlight=False)


@app.command()
def send(
    action: Annotated[str, typer.Argument(help="The action id.")],
    course: CourseOption,
    person: PersonOption,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Send even if already sent or the conditions do not hold (needs --reason).",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, for the log (required with --force).")
    ] = None,
    now: NowOption = None,
    transport: Annotated[str | None, typer.Option("--transport", help="dir or smtp.")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for --transport dir.")
    ] = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send one delivery now: manual actions, or an audited re-send with --force."""
    from certify.runner import run_lock
    from certify.settle import send_one
    from certify.transports import choose_transport

    with errors():
        if force and not reason:
            raise UsageError("--force needs --reason TEXT, for the delivery log")
        config = config_from(actions)
        moment = parse_now(now, config.tz)
        chosen = choose_transport(config, transport=transport, out=out_dir)
        path = db_path(db)
        with Store.open(path, create=False) as store, run_lock(path):
            outcome = send_one(
                store, config, action, course, person, moment, chosen, force=force, reason=reason
            )
    if as_json:
        emit_json(outcome.as_json())
    else:
        plain(
            f"{outcome.state}: {action} {course}/{person}"
            + (f": {outcome.error}" if outcome.error else "")
        )
    if outcome.state != "sent":
        raise typer.Exit(EXIT_NOT_ACCEPTED)


@app.command()
def mark(
    action: Annotated[str, typer.Argument(help="The action id.")],
    course: CourseOption,
    person: PersonOption,
    state: Annotated[
        str, typer.Option("--as", help="sent or failed: settle an `unknown` delivery.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the log.")],
    db: DbOption = None,
) -> None:
    """Settle a delivery by hand, e.g. an `unknown` one found in the mail server's log."""
    from certify.settle import mark_delivery

    with errors():
        if state not in ("sent", "failed"):
            raise UsageError("--as takes sent or failed")
        with Store.open(db_path(db), create=False) as store:
            mark_delivery(store, action, course, person, state, reason, parse_now(None, UTC))
    plain(f"{action} {course}/{person}: marked {state}")
