"""Sending what is due: `run-due`, its dry run, and what both print."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Annotated

import typer

from certify.cli.app import (
    ActionsOption,
    DbOption,
    JsonOption,
    NowOption,
    QuietOption,
    WaitOption,
    app,
    attention_line,
    configured_at,
    console,
    emit_json,
    errors,
    interactive,
    local_time,
    plain,
    warn,
)
from certify.cli.jsontext import JSONText
from certify.cli.transport_options import TransportChoice, with_transport_options
from certify.locale import _, ngettext
from certify.store.database import Store, db_path
from certify.words import state_word

if TYPE_CHECKING:
    from certify.config import Action, Config
    from certify.deliver.results import DeliveryResult, RunReport
    from certify.deliver.runner import Runner
    from certify.deliver.transports import Transport


@app.command("run-due")
@with_transport_options
def run_due(
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Render what would be sent and show it; write and send nothing."
        ),
    ] = False,
    no_render: Annotated[
        bool,
        typer.Option(
            "--no-render", help="With --dry-run: judge and list only (fast for a large backlog)."
        ),
    ] = False,
    now: NowOption = None,
    action: Annotated[
        list[str] | None,
        typer.Option("--action", metavar="ID", help="Only this action id (repeatable)."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, metavar="N", help="Send at most N deliveries in this run."),
    ] = None,
    via: TransportChoice = TransportChoice(),
    wait: WaitOption = 10.0,
    quiet: QuietOption = False,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send every delivery that is due now, and record why."""
    from certify.deliver.runner import Runner
    from certify.store.lock import run_lock

    with errors():
        config, moment = configured_at(actions, now)
        templates = None  # compiled before the first message: a tick with nothing due skips it
        chosen = [config.action(a) for a in action] if action else config.actions
        path = db_path(db)
        cron = not as_json and not interactive()
        forgotten = 0
        told: set[str] = set()  # warnings an earlier run showed already
        if dry_run:
            with Store.open_readonly(path) as store:
                # an action not yet switched on would be switched on by a real run now,
                # whatever --now says: so the dry run shows what that day would send
                runner = Runner(store, config, templates, moment, switch_on=datetime.now(UTC))
                report = runner.run(chosen, None, limit=limit, render=not no_render)
                attention = attention_line(store)
        else:
            chosen_transport = via.pick(config)
            with run_lock(path, wait), Store.open(path, create=False) as store:
                forgotten = _forget_past_retention(store, config, moment, as_json)
                runner = Runner(
                    store,
                    config,
                    templates,
                    moment,
                    log=_cron_line(quiet, config.tz) if cron else None,
                    quiet=quiet,
                )
                if interactive() and not as_json:
                    report = _with_progress(runner, chosen, chosen_transport, limit)
                else:
                    report = runner.run(chosen, chosen_transport, limit=limit)
                attention = attention_line(store)
                told = _warnings_told(store, report.warnings)
    if as_json:
        deliveries = JSONText(report.deliveries_json())
        shown = report.as_json(deliveries)
        emit_json({**shown, "needs_attention": attention, "forgotten": forgotten})
    else:
        _print_run(report, config.tz, attention, quiet=quiet, told=told)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _forget_past_retention(store: Store, config: Config, moment: datetime, silent: bool) -> int:
    """`retention: {personal_data: ...}`: forget the persons kept longer, before the run."""
    months = config.settings.retention.personal_data
    if months is None:
        return 0
    from certify.store.erase import forget_past_retention

    forgotten = forget_past_retention(store, months, moment)
    if forgotten and not silent:
        plain(
            ngettext(
                "forgot the personal data of {count} person past the retention period",
                "forgot the personal data of {count} persons past the retention period",
                forgotten,
            ).format(count=forgotten)
        )
    return forgotten


def _cron_line(quiet: bool, tz: tzinfo) -> Callable[[str], None]:
    """Each line as it happens, stamped with the clock's time in the configured zone and its
    offset (`2026-11-30 07:15:08+01:00`): local like every time people read, and still
    unambiguous in the hour that autumn repeats."""

    def log(line: str) -> None:
        if quiet and line.startswith("skipped "):
            return  # history recorded as skipped is routine, not news
        stamp = datetime.now(tz).replace(microsecond=0).isoformat(sep=" ")
        plain(f"{stamp} {line}")

    return log


def _with_progress(
    runner: Runner, chosen: list[Action], transport: Transport, limit: int | None
) -> RunReport:
    from rich.progress import Progress

    with Progress(console=console(stderr=True), transient=True) as progress:
        task = progress.add_task(_("sending"), total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return runner.run(chosen, transport, limit=limit, progress=advance)


def _person(item: DeliveryResult) -> str:
    if item.name is None and item.email is None:
        return item.person
    return f"{item.name or item.person} <{item.email or ''}>"


def _print_deliveries(report: RunReport, tz: tzinfo) -> None:
    shown = report.shown()
    if not shown:
        return
    if interactive():
        from rich.table import Table

        kind = _("Dry run at {moment}") if report.dry_run else _("Run at {moment}")
        grid = Table(title=kind.format(moment=local_time(report.now, tz, zone=True)))
        for column in (
            _("action"),
            _("course"),
            _("person"),
            _("due"),
            _("subject") if report.dry_run else _("state"),
        ):
            grid.add_column(column)
        for item in shown:
            last = item.subject or "" if item.state == "would send" else state_word(item.state)
            if item.error:
                last = f"{state_word(item.state)}: {item.error}"
            title = item.title or item.action
            grid.add_row(title, item.course, _person(item), local_time(item.due_at, tz), last)
        console().print(grid)
    elif report.dry_run:  # a real run under cron printed its lines as it went
        for item in shown:
            line = (
                f"{state_word(item.state)}: {item.title or item.action} {item.course}/{item.person}"
            )
            if item.name is not None or item.email is not None:
                line += f" {item.name or ''} <{item.email or ''}>"
            line += " " + _("due {moment}").format(moment=local_time(item.due_at, tz))
            if item.subject:
                line += f' "{item.subject}"'
            if item.error:
                line += f": {item.error}"
            plain(line)


_RUN_WARNINGS = "run_warnings"


def _warnings_told(store: Store, warnings: list[str]) -> set[str]:
    """The warnings the run before showed already; this run's are kept for the next. A
    quiet run from cron says a warning once, and again when it comes back, not every tick."""
    kept = store.setting(_RUN_WARNINGS)
    now = json.dumps(sorted(set(warnings)), ensure_ascii=False)
    if now != kept:
        store.keep_setting(_RUN_WARNINGS, now)
    try:
        told = json.loads(kept) if kept else []
    except ValueError:
        told = []
    return {warning for warning in told if isinstance(warning, str)}


def _print_run(
    report: RunReport, tz: tzinfo, attention: str | None, *, quiet: bool, told: set[str]
) -> None:
    for warning in report.warnings:  # a setting that silently sends nothing is a mistake too
        if quiet and warning in told:
            continue  # cron mailed it after an earlier run: said again when it comes back
        warn(_("warning: {warning}").format(warning=warning))
    news = report.sent or report.failed or report.unknown or report.pending or report.problems
    if quiet and not report.dry_run and not news and not report.stopped:
        return
    if report.switched_on:
        first = min(report.switched_on.values()).astimezone(tz)
        plain(
            _(
                "not switched on yet: {actions}; taken as switched on now ({moment}), as the "
                "first real run would: due before is skipped"
            ).format(
                actions=", ".join(report.titles.get(a, a) for a in report.switched_on),
                moment=f"{first:%Y-%m-%d %H:%M %Z}",
            )
        )
    _print_deliveries(report, tz)
    for problem in report.problems:
        warn(_("error: {message}").format(message=problem))
    plain(report.summary())
    if report.switched_on and report.skipped and not report.sent:
        # a first try on an export of past courses: all history, rightly, goes unmailed
        warn(
            _(
                "hint: what was due before an action is switched on is skipped, never sent; "
                "to send it after all, set since: in the action in actions.yaml to a date "
                "before it, and mind expire_after"
            )
        )
    waiting = report.waiting_shown() if report.dry_run or interactive() else {}
    if waiting:
        from rich.table import Table

        grid = Table(title=_("What waits on what"))
        grid.add_column(_("action: reason"))
        grid.add_column(_("participants"), justify="right")
        for reason, count in waiting.items():
            grid.add_row(reason, str(count))
        if interactive():
            console().print(grid)
        else:
            for reason, count in waiting.items():
                plain(_("waiting: {reason}: {count}").format(reason=reason, count=count))
    if report.stopped:
        warn(_("stopped: {reason}").format(reason=report.stopped))
    if attention:
        plain(attention)
