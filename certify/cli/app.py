"""The Typer app: shared options, output consoles, and one path from errors to exit codes.

No logic lives in the command line: each command translates options, calls the library,
and prints (Rich tables on a terminal, plain lines under cron, JSON with --json).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from certify import __version__
from certify.clock import DateFormatError, parse_moment
from certify.config import Config, actions_path, load
from certify.errors import CertifyError, LocatedErrors, UsageError

app = typer.Typer(
    name="certify",
    help="Send each course participant a certificate the moment they meet the course's requirements.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", envvar="CERTIFY_DB", help="The SQLite database [default: certify.db]."),
]
ActionsOption = Annotated[
    Path | None,
    typer.Option(
        "--actions", envvar="CERTIFY_ACTIONS", help="The actions file [default: actions.yaml]."
    ),
]
NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="The run's moment, ISO 8601 with or without offset (without: the configured zone). "
        "Default: the current time.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CourseOption = Annotated[str, typer.Option("--course", help="The course_id.")]
PersonOption = Annotated[str, typer.Option("--person", help="The person_id.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"certify {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """certify: certificates and proofs of participation, the moment they are earned."""


def fail(exc: CertifyError) -> NoReturn:
    """Print a user's mistake once, with its hint, and exit with its code."""
    if isinstance(exc, LocatedErrors):
        for problem in exc.problems:
            err.print(problem, markup=False, highlight=False)
        if exc.total > len(exc.problems):
            err.print(f"... and {exc.total - len(exc.problems)} more", highlight=False)
    err.print(f"error: {exc.message}", markup=False, highlight=False)
    if exc.hint:
        err.print(f"hint: {exc.hint}", markup=False, highlight=False)
    raise typer.Exit(exc.exit_code)


@contextmanager
def errors() -> Iterator[None]:
    """Every CertifyError inside becomes a message and an exit code, never a traceback."""
    try:
        yield
    except CertifyError as exc:
        fail(exc)


def parse_now(now: str | None, tz: tzinfo) -> datetime:
    """--now in the configured zone, else the current time."""
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_moment(now, tz)
    except DateFormatError as exc:
        raise UsageError(f"--now: {exc}") from None


def config_from(actions: Path | None) -> Config:
    """The actions file named by --actions, CERTIFY_ACTIONS or the default."""
    return load(actions_path(actions))


def emit_json(value: Any) -> None:
    """JSON for scripts, on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def interactive() -> bool:
    """A person at a terminal (tables, progress), rather than cron (plain lines)."""
    return out.is_terminal


def plain(line: str) -> None:
    """One line on stdout, exactly as given."""
    out.print(line, markup=False, highlight=False)


def warn(line: str) -> None:
    """One line on stderr, exactly as given."""
    err.print(line, markup=False, highlight=False)


def main() -> None:
    """The `certify` console script."""
    app()
