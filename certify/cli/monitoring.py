"""For monitoring: `status`, a check that exits 3 when something needs the administrator."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Annotated

import typer

from certify.cli.app import (
    ActionsOption,
    DbOption,
    JsonOption,
    NowOption,
    app,
    display_zone,
    emit_json,
    errors,
    local_time,
    parse_now,
    plain,
)
from certify.store.database import Store, db_path

if TYPE_CHECKING:
    from certify.inspect.status import Status


@app.command()
def status(
    max_age: Annotated[
        str,
        typer.Option(
            "--max-age",
            metavar="DURATION",
            help="How old the last successful run may be before the check fails "
            "(90 minutes, 2 hours, 1 day).",
        ),
    ] = "1 hour",
    now: NowOption = None,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="Print only when the check fails.")
    ] = False,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """The last run and what needs attention; exit 3 when either needs you (for monitoring).

    Exit 3 when the last run did not succeed (it stopped early, met a configuration problem
    or had a delivery not accepted), when no run succeeded within --max-age, or when a
    delivery needs attention; else 0.
    """
    from certify.inspect.status import parse_age, read_status

    with errors():
        tz = display_zone(actions)
        age = parse_age(max_age)
        moment = parse_now(now, tz)
        with Store.open_readonly(db_path(db)) as store:
            report = read_status(store, moment, age)
    if as_json:
        emit_json(report.as_json())
    elif not (quiet and report.ok):
        for line in _lines(report, tz):
            plain(line)
    raise typer.Exit(report.exit_code)


def _lines(report: Status, tz: tzinfo) -> list[str]:
    lines = []
    last, good = report.last_run, report.last_successful
    if last is None:
        lines.append("last run: none recorded")
    else:
        when = f"{local_time(last.now, tz, zone=True)} ({report.ago(last)})"
        lines.append(f"last run: {when}: {last.summary}")
        if last.counts:
            shown = ", ".join(f"{name} {count}" for name, count in last.counts.items() if count)
            lines.append(f"  {shown or 'nothing to do'}")
    if last is not None and not last.successful:
        lines.append(
            "last successful run: "
            + (
                f"{local_time(good.now, tz, zone=True)} ({report.ago(good)})"
                if good is not None
                else "none"
            )
        )
    states = ", ".join(f"{count} {state}" for state, count in sorted(report.states.items()))
    lines.append(f"deliveries: {states or 'none yet'}")
    pending = report.oldest_pending
    if pending is not None:
        due = local_time(pending["due_at"], tz) or "?"
        lines.append(
            f"oldest pending: {pending['action']} {pending['course']}/{pending['person']}, "
            f"due {due}, {pending['attempts']} attempt(s)"
            + (f": {pending['last_error']}" if pending["last_error"] else "")
        )
    if report.ok:
        lines.append("ok")
    else:
        lines.extend(f"NOT OK: {reason}" for reason in report.reasons)
    return lines
