"""For monitoring: `status`, a check that exits 3 when something needs the administrator."""

from __future__ import annotations

from typing import Annotated

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
        for line in report.lines(lambda moment, zone: local_time(moment, tz, zone=zone)):
            plain(line)
    raise typer.Exit(report.exit_code)
