"""Getting data and configuration in: `import`, `validate`, `schema`."""

from __future__ import annotations

import sqlite3
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from certify.cli.app import (
    ActionsOption,
    DbOption,
    JsonOption,
    NowOption,
    QuietOption,
    app,
    attention_line,
    console,
    emit_json,
    errors,
    interactive,
    option,
    parse_now,
    plain,
    warn,
)
from certify.config import Config, actions_path, import_timezone, load, read_timezone
from certify.errors import CertifyError
from certify.locale import _, english, ngettext
from certify.store.database import Store, db_path


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...",
            help="Export files (CSV or .xlsx), or folders holding them: courses.csv and the "
            "like, or the files actions.yaml's import: section names.",
        ),
    ],
    snapshot: Annotated[
        bool,
        typer.Option(
            "--snapshot",
            help="Each file is the complete truth for its table: rows missing from it are "
            "removed (enrollments: cancelled).",
        ),
    ] = False,
    max_remove: Annotated[
        int | None,
        option(
            "--max-remove",
            "PCT",
            min=0,
            max=100,
            help="With --snapshot: how much of a table, in percent of its rows, one import may "
            "remove or cancel [default: 50]. 100 also lets a file without data rows empty "
            "its table.",
        ),
    ] = None,
    table: Annotated[
        str | None,
        option(
            "--table",
            "TABLE",
            "The table of a single file whose name is not a table name (flat: the flat "
            "file of actions.yaml's import: section).",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            metavar="ZONE",
            help="The zone the exports' local times are in (such as Europe/Amsterdam) "
            "[default: the timezone of actions.yaml].",
        ),
    ] = None,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Load exports (CSV files, Excel workbooks, one flat file) into the database, all or
    nothing."""
    from certify.ingest.flat import FlatCertificate
    from certify.ingest.importer import import_files
    from certify.ingest.settings import ImportSettings
    from certify.register.imported import FILE, found_in, import_certificates

    # --json's warnings stay English, like its keys
    with errors(), english() if as_json else nullcontext():
        source = actions_path(actions)
        tz = import_timezone(source, timezone)
        # how this organisation's exports look: actions.yaml's import: section
        config = load(source) if source.exists() else None
        settings = config.settings.import_ if config is not None else None
        mapped_at = _mapped_at(config)
        # certificates.csv joins the register after the tables whose rows it names
        paths, certificate_files = found_in(paths)
        if certificate_files:
            if config is None:
                said = _("certificates name actions of actions.yaml, and there is none at {path}")
                raise CertifyError(
                    f"{certificate_files[0]}: {said.format(path=source)}",
                    hint=_("pass --actions PATH, or run where actions.yaml lives"),
                )
            settings = (settings or ImportSettings()).model_copy(
                update={"ignore": [*(settings.ignore if settings else []), FILE]}
            )
        moment = parse_now(now, tz)
        added: list[int] = []  # certificates.csv's count, from inside the import's transaction
        told: list[str] = []  # and its warnings

        def with_certificates(conn: sqlite3.Connection, flat: list[FlatCertificate]) -> None:
            if not certificate_files and not flat:
                return
            assert config is not None
            added.append(import_certificates(conn, certificate_files, config, moment, told, flat))

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
                    max_remove=max_remove,
                    table=table,
                    settings=settings,
                    then=with_certificates if config is not None else None,
                    mapped_at=mapped_at,
                    progress=(
                        (lambda line: console(stderr=True).print(line, style="dim"))
                        if interactive() and not quiet
                        else None
                    ),
                )
                report.warnings.extend(told)
                attention = attention_line(store)
        except CertifyError:
            if not existed:  # a failed first import leaves no database behind
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            raise
    for warning in report.warnings:
        warn(_("warning: {warning}").format(warning=warning))
    if as_json:
        shown = report.as_json()
        if added:
            shown["certificates_imported"] = added[0]
        emit_json(shown)
        return
    if quiet:
        return
    if added:
        plain(_("certificates: {count} imported as new or changed").format(count=added[0]))
    if not interactive():
        for name, counts in report.counts.items():
            plain(f"{name}: {counts.summary(name)}")
    else:
        from rich.table import Table

        from certify.ingest.integrity import removal

        grid = Table(
            title=_("Import #{number} into {path}").format(number=report.import_id, path=path)
        )
        columns = (_("table"), _("rows"), _("inserted"), _("updated"), _("unchanged"), _("removed"))
        for index, column in enumerate(columns):
            grid.add_column(column, justify="right" if index else "left")
        for name, counts in report.counts.items():
            figures = (counts.rows, counts.inserted, counts.updated, counts.unchanged)
            # a --snapshot cancels the enrollments a file lacks, and removes other rows
            gone = f"{counts.removed}" + (
                "" if removal(name) == "removed" else " " + _("cancelled")
            )
            grid.add_row(name, *(str(value) for value in figures), gone)
        console().print(grid)
    if attention:
        plain(attention)


@app.command()
def backup(
    target: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="The copy to write; an existing file is refused."),
    ],
    db: DbOption = None,
) -> None:
    """A consistent copy of the database, safe while runs write (for nightly backups)."""
    from certify.store.backup import backup as copy_database

    with errors(), Store.open_readonly(db_path(db)) as store:
        copy_database(store, target)
    plain(_("backed up {database} to {copy}").format(database=store.path, copy=target))


def _mapped_at(config: Config | None) -> dict[tuple[str, str], str]:
    """Where actions.yaml maps each (table, column): a header the export lacks is fixed there."""
    from certify.ingest.discover import FLAT

    found: dict[tuple[str, str], str] = {}
    settings = config.settings.import_ if config is not None else None
    if config is None or settings is None:
        return found
    if settings.flat is not None:
        for column in settings.flat.columns:
            found[FLAT, column] = config.where("import", "flat", "columns", column)
    for table, given in settings.tables.items():
        for column in given.columns:
            found[table, column] = config.where("import", "tables", table, "columns", column)
    return found


def _zone_unset(path: Path) -> list[str]:
    """A missing timezone is valid, but run-due would read times in the machine's zone (UTC
    on most servers) and import refuses: said before the first import finds out."""
    if load(path).settings.timezone is not None:
        return []
    from certify.clock import machine_zone

    return [
        _(
            "{path}: no timezone: run-due reads local times in this machine's zone ({zone}) "
            "and import refuses; add timezone: Europe/Amsterdam (your zone) at the top"
        ).format(path=path, zone=machine_zone())
    ]


@app.command()
def validate(
    actions: ActionsOption = None,
    db: Annotated[
        Path | None,
        option(
            "--db",
            "FILE",
            "Also render every template for real participants of this database, and "
            "compare statuses and course types with its data.",
        ),
    ] = None,
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check actions.yaml and every template; no database needed (for CI)."""
    from certify.inspect.validate import validate_all, validate_with_data

    path = actions_path(actions)
    warnings: list[str] = []
    with errors(), english() if as_json else nullcontext():
        if db is None:
            problems = validate_all(path)
        else:
            problems, warnings = validate_with_data(path, db, parse_now(now, read_timezone(path)))
        if not problems:
            warnings = _zone_unset(path) + warnings
    if as_json:
        emit_json(
            {"file": str(path), "ok": not problems, "problems": problems, "warnings": warnings}
        )
    else:
        for problem in problems:
            warn(problem)
        for warning in warnings:
            warn(_("warning: {warning}").format(warning=warning))
        if problems:
            counted = ngettext(
                "{count} problem in {path} and its templates",
                "{count} problems in {path} and its templates",
                len(problems),
            )
            warn(
                _("error: {message}").format(message=counted.format(count=len(problems), path=path))
            )
        elif db:
            plain(_("{path}: ok against {db}").format(path=path, db=db))
        else:
            plain(_("{path}: ok").format(path=path))
    if problems:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of actions.yaml, for editors."""
    from certify.config import json_schema

    emit_json(json_schema(), indent=True)  # a file people keep next to actions.yaml
