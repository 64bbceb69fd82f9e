"""Getting data and configuration in: `import`, `validate`, `schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from certify.cli.app import (
    ActionsOption,
    DbOption,
    JsonOption,
    NowOption,
    app,
    emit_json,
    err,
    errors,
    interactive,
    out,
    parse_now,
    plain,
    warn,
)
from certify.config import actions_path, read_timezone
from certify.errors import CertifyError
from certify.store import Store, db_path


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path], typer.Argument(help="CSV files, or folders holding files such as courses.csv.")
    ],
    snapshot: Annotated[
        bool,
        typer.Option(
            "--snapshot",
            help="Each file is the complete truth for its table: rows missing from it are "
            "removed (enrollments: cancelled).",
        ),
    ] = False,
    table: Annotated[
        str | None,
        typer.Option("--table", help="The table of a single file whose name is not a table name."),
    ] = None,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load CSV exports into the database, all or nothing."""
    from certify.importer import import_files

    with errors():
        tz = read_timezone(actions_path(actions))
        moment = parse_now(now, tz)
        path = db_path(db)
        existed = path.exists()
        try:
            with Store.open(path) as store:
                report = import_files(
                    store,
                    paths,
                    tz=tz,
                    now=moment,
                    snapshot=snapshot,
                    table=table,
                    progress=(lambda line: err.print(line, style="dim")) if interactive() else None,
                )
        except CertifyError:
            if not existed:  # a failed first import leaves no database behind
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            raise
    for warning in report.warnings:
        warn(f"warning: {warning}")
    if as_json:
        emit_json(report.as_json())
        return
    if not interactive():
        for name, counts in report.counts.items():
            plain(
                f"{name}: {counts.inserted} inserted, {counts.updated} updated, "
                f"{counts.unchanged} unchanged, {counts.removed} removed"
            )
        return
    grid = Table(title=f"Import #{report.import_id} into {path}")
    for column in ("table", "rows", "inserted", "updated", "unchanged", "removed"):
        grid.add_column(column, justify="left" if column == "table" else "right")
    for name, counts in report.counts.items():
        figures = (counts.rows, counts.inserted, counts.updated, counts.unchanged, counts.removed)
        grid.add_row(name, *(str(value) for value in figures))
    out.print(grid)


@app.command()
def validate(actions: ActionsOption = None, as_json: JsonOption = False) -> None:
    """Check actions.yaml and every template; no database needed (for CI)."""
    from certify.validate import validate_all

    path = actions_path(actions)
    problems = validate_all(path)
    if as_json:
        emit_json({"file": str(path), "ok": not problems, "problems": problems})
    else:
        for problem in problems:
            warn(problem)
        if problems:
            warn(f"error: {len(problems)} problem(s) in {path} and its templates")
        else:
            plain(f"{path}: ok")
    if problems:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of actions.yaml, for editors."""
    from certify.config import json_schema

    emit_json(json_schema())
