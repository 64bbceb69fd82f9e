"""Starting out: `init` writes the starter kit into a folder."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from certify.cli.app import app, errors, plain
from certify.locale import _


class KitLocale(StrEnum):
    nl = "nl"
    en = "en"


@app.command()
def init(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The folder to start in; created if missing [default: .]."
        ),
    ] = Path("."),
    locale: Annotated[
        KitLocale,
        typer.Option(
            "--locale",
            help="The language of actions.yaml and of the default templates; the other "
            "language comes along as templates NAME.nl.* or NAME.en.*.",
        ),
    ] = KitLocale.nl,
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite files of the kit that exist already."),
    ] = False,
) -> None:
    """Write a starter kit: actions.yaml, templates, the JSON Schema, a crontab line."""
    from certify.starter.kit import certify_command, write_kit

    with errors():
        command = certify_command(sys.argv[0], sys.executable)
        written = write_kit(directory, locale.value, command, force=force)
    for path in written:
        plain(_("wrote {path}").format(path=path))
    plain(
        _("made {folder}/ for the training system's exports").format(folder=directory / "exports")
    )
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    plain(
        _(
            "next: set timezone and sender in actions.yaml, then `{where}certify validate`; put "
            "the exports in exports/ and `certify import exports/`; the cron line is in "
            "crontab.example"
        ).format(where=where)
    )
