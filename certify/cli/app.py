"""The Typer app: shared options, output consoles, and one path from errors to exit codes.

No logic lives in the command line: each command translates options, calls the library,
and prints (Rich tables on a terminal, plain lines under cron, JSON with --json).
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
import typer.main
from typer.core import TyperArgument, TyperCommand, TyperGroup
from typer.models import CommandFunctionType, CommandInfo, TyperInfo

from certify import __version__
from certify.cli.jsontext import compact, decoded
from certify.cli.terminal import printable
from certify.clock import DateFormatError, from_utc_text, parse_moment
from certify.config import Config, actions_path, load, read_timezone
from certify.errors import CertifyError, LocatedErrors, UsageError, os_reason
from certify.locale import _
from certify.store.database import Store

if TYPE_CHECKING:
    from rich.console import Console


class _Command(TyperCommand):
    """A command whose help shows each argument by its metavar (`PATH...`), as options are
    shown, rather than as a Python type (`{paths}...`, `paths... <list[Path]>`)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """`[OPTIONS] PATH...`: options as Typer shows them, arguments as people write them."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                pieces.append(_argument_name(param))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """The Arguments and Options sections, each argument named as in the usage line."""
        params = self.get_params(ctx)
        arguments = [
            (_argument_name(param), param.help or "")
            for param in params
            if isinstance(param, TyperArgument) and not param.hidden
        ]
        options = [
            record
            for param in params
            if not isinstance(param, TyperArgument)
            and (record := param.get_help_record(ctx)) is not None
        ]
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _argument_name(param: TyperArgument) -> str:
    name = param.metavar or (param.name or "").upper()
    if param.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name if param.required else f"[{name}]"


class _Group(TyperGroup):
    """A group that lists its commands by name, without building each to do so."""

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands in the order they were registered (as Typer lists them)."""
        return list(self.commands)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """The command line, its mistakes told in the language chosen; a command that reads
        no actions file speaks the language of the one it would read."""
        from certify import locale
        from certify.cli import usage

        usage.install()
        locale.fall_back_to(actions_path(None))
        return super().main(*args, **kwargs)


class _Commands(MutableMapping[str, Any]):
    """An app's commands by name, each built from its function's signature when first asked
    for: a cron tick builds the options of `run-due`, not those of twenty other commands."""

    def __init__(self, app: typer.Typer) -> None:
        self._app = app
        self._entries: dict[str, Any] = {}  # a command, or the CommandInfo/TyperInfo to build
        for info in app.registered_commands:
            callback = info.callback
            assert callback is not None, "a command has a function"
            self._entries[info.name or typer.main.get_command_name(callback.__name__)] = info
        for group in app.registered_groups:
            self._entries[str(group.name)] = group

    def __getitem__(self, name: str) -> Any:
        entry = self._entries[name]
        if isinstance(entry, CommandInfo):
            entry = self._entries[name] = typer.main.get_command_from_info(
                entry,
                pretty_exceptions_short=self._app.pretty_exceptions_short,
                rich_markup_mode=self._app.rich_markup_mode,
            )
        elif isinstance(entry, TyperInfo):
            entry = self._entries[name] = typer.main.get_group_from_info(
                entry,
                pretty_exceptions_short=self._app.pretty_exceptions_short,
                rich_markup_mode=self._app.rich_markup_mode,
                suggest_commands=self._app.suggest_commands,
            )
        return entry

    def __setitem__(self, name: str, command: Any) -> None:
        self._entries[name] = command

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class _App(typer.Typer):
    """The Typer app, each of whose commands is a `_Command`."""

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **settings: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        """Register a command, a `_Command` unless told otherwise."""
        return super().command(name, cls=cls or _Command, **settings)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line, building only the command it names (and, for --help, the
        rest); Typer would build all of them first, a tenth of a cron tick."""
        return self.lazy_group()(*args, **kwargs)

    def lazy_group(self) -> TyperGroup:
        """The app as a group whose commands are built when first asked for."""
        if not all(isinstance(group.name, str) for group in self.registered_groups):
            return typer.main.get_group(self)  # a group without a name lends its commands
        commands, groups = self.registered_commands, self.registered_groups
        self.registered_commands, self.registered_groups = [], []
        try:
            group = typer.main.get_group(self)  # the root alone: its options and callback
        finally:
            self.registered_commands, self.registered_groups = commands, groups
        group.commands = _Commands(self)
        return group


app = _App(
    name="certify",
    cls=_Group,
    help="Send each course participant a certificate the moment they meet the course's requirements.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def option(flag: str, metavar: str, help: str, **more: Any) -> Any:
    """An option with a value, which its help names by `metavar` (`--days N`)."""
    return typer.Option(flag, metavar=metavar, help=help, **more)


def _file_option(flag: str, envvar: str, help: str) -> Any:
    """An option naming one of certify's files, which a variable may name instead."""
    return option(flag, "FILE", help, envvar=envvar)


DbOption = Annotated[
    Path | None,
    _file_option("--db", "CERTIFY_DB", "The SQLite database [default: certify.db]."),
]
ActionsOption = Annotated[
    Path | None,
    _file_option("--actions", "CERTIFY_ACTIONS", "The actions file [default: actions.yaml]."),
]
NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        metavar="TIME",
        help="The moment to act at: 2026-11-19 09:00 or 19-11-2026 09:00, local time in "
        "actions.yaml's timezone (with Z or +01:00 after it: exactly that moment); a date "
        "alone is 00:00 that day. Default: now.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CourseOption = Annotated[str, typer.Option("--course", metavar="ID", help="The course_id.")]
PersonOption = Annotated[str, typer.Option("--person", metavar="ID", help="The person_id.")]
# filters of the commands that read or re-queue many deliveries
ActionFilter = Annotated[
    str | None, typer.Option("--action", metavar="ID", help="Only this action id.")
]
CourseFilter = Annotated[
    str | None, typer.Option("--course", metavar="ID", help="Only this course_id.")
]
PersonFilter = Annotated[
    str | None, typer.Option("--person", metavar="ID", help="Only this person_id.")
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "-q",
        "--quiet",
        help="For cron: print only what needs you (what was sent, warnings, problems).",
    ),
]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        metavar="SECONDS",
        help="How long to wait for another run to finish, then exit 75.",
    ),
]


def _version(value: bool) -> None:
    if value:
        plain(f"certify {__version__}")
        raise typer.Exit()


def _language(value: str | None) -> None:
    """--lang, taken as soon as it is read: a mistyped command after it reads in it too."""
    if value is None:
        return
    from certify import locale

    if locale.supported(value) is None:
        raise typer.BadParameter(
            _("{lang} is not a language certify speaks ({languages})").format(
                lang=repr(value), languages=", ".join(locale.LANGUAGES)
            ),
            param_hint="--lang",
        )
    locale.choose(value)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            envvar="CERTIFY_LANG",
            metavar="LANG",
            callback=_language,
            is_eager=True,
            help="The language of what certify shows: en or nl. Default: locale in "
            "the actions file, else in ./actions.yaml, else English. Help texts and --json "
            "keys stay English.",
        ),
    ] = None,
) -> None:
    """certify: certificates and proofs of participation, the moment they are earned."""


def fail(exc: CertifyError) -> NoReturn:
    """Print a user's mistake once, with its hint, and exit with its code."""
    if isinstance(exc, LocatedErrors):
        for problem in exc.problems:
            warn(problem)
        if exc.total > len(exc.problems):
            warn(_("... and {count} more").format(count=exc.total - len(exc.problems)))
    warn(_("error: {message}").format(message=exc.message))
    for detail in exc.details:
        warn(f"  {detail}")
    if exc.hint:
        warn(_("hint: {hint}").format(hint=exc.hint))
    raise typer.Exit(exc.exit_code)


@contextmanager
def errors() -> Iterator[None]:
    """Every CertifyError inside becomes a message and an exit code, never a traceback.

    So do the machine's own refusals: a database that cannot be written or read, a
    folder that cannot be created.
    """
    try:
        yield
    except CertifyError as exc:
        fail(exc)
    except sqlite3.Error as exc:
        fail(_database_problem(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        fail(CertifyError(f"{where}{os_reason(exc)}", hint=_("check the path and its permissions")))


def _database_problem(exc: sqlite3.Error) -> CertifyError:
    text = str(exc)
    opened = Store.last_opened
    where = opened or _("the database")
    if "readonly" in text or "read-only" in text:
        hint = _(
            "certify must be able to write {database}, its -wal and -shm files next to it, and "
            "its folder: check their owner and permissions (ls -l)"
        ).format(database=where)
    elif "locked" in text or "busy" in text:
        hint = _("another program holds the database; try again when it is done")
    elif "not a database" in text or "malformed" in text:
        hint = _("--db must name a certify database; restore it from a backup if it was damaged")
    elif "unable to open" in text and opened is not None and not opened.parent.is_dir():
        hint = _("the folder {folder} does not exist: create it, or pass another --db").format(
            folder=opened.parent
        )
    else:
        hint = _("check --db and the file's permissions")
    said = _("the database cannot be used: {reason}").format(reason=text)
    return CertifyError(f"{where}: {said}", hint=hint)


def display_zone(actions: Path | None) -> tzinfo:
    """The zone of actions.yaml to show times in; UTC when it cannot be read (the commands
    that only read the log need no configuration)."""
    try:
        return read_timezone(actions_path(actions))
    except CertifyError:
        return UTC


def local_time(moment: str | datetime | None, tz: tzinfo, *, zone: bool = False) -> str:
    """A moment (stored UTC text, or a datetime) in local time; with its zone (CET, CEST)
    where the hour autumn repeats must be told apart and the width allows."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = from_utc_text(moment)
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M{' %Z' if zone else ''}}"


def parse_now(now: str | None, tz: tzinfo) -> datetime:
    """--now in the configured zone, else the current time."""
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_moment(now, tz)
    except DateFormatError as exc:
        raise UsageError(f"--now: {exc}") from None


def configured_at(actions: Path | None, now: str | None) -> tuple[Config, datetime]:
    """The configuration, and the moment to act at (--now, read in its zone)."""
    config = config_from(actions)
    return config, parse_now(now, config.tz)


def config_from(actions: Path | None) -> Config:
    """The actions file named by --actions, CERTIFY_ACTIONS or the default."""
    return load(actions_path(actions))


# Python indents JSON only in its pure-Python encoder, five times slower than the compact
# one in C: for a script (a dry run of 200,000 deliveries, 50 MB) JSON is one line rather
# than seconds of whitespace nobody reads; a person at a terminal gets it indented.


def emit_json(value: Any, *, indent: bool | None = None) -> None:
    """JSON for scripts, on stdout: indented at a terminal (or when asked), else compact, as
    scripts read it alike and the C encoder writes it many times faster. A `JSONText` value
    of a dict is written as its pieces come (read back only to be indented)."""
    if indent is None:
        indent = interactive()
    if indent:
        if isinstance(value, dict):
            value = {k: decoded(v) for k, v in value.items()}
        write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n", escaped=True)
        return
    for piece in compact(value):
        write(piece, escaped=True)
    write("\n", escaped=True)


def console(*, stderr: bool = False) -> Console:
    """Rich, for tables and progress on a terminal (loaded only then: cron never needs it)."""
    from certify.cli.terminal import safe_console

    return safe_console(stderr=stderr)


def interactive() -> bool:
    """A person at a terminal (tables, progress), rather than cron (plain lines)."""
    return sys.stdout.isatty()


def plain(line: str) -> None:
    """One line on stdout, as given; a line break or control character from data inside it
    shown as an escape, so a value never starts a line of its own."""
    write(_one_line(line) + "\n", escaped=True)


def _one_line(line: str) -> str:
    """A line as shown: control characters and line breaks from data as escapes; the tabs
    of a tab-separated listing stay."""
    return printable(line).replace("\n", "\\n")


def write(text: str, *, escaped: bool = False) -> None:
    """Text on stdout, control characters from data shown as escapes (JSON is `escaped`
    already). A reader that went away (`certify run-due | head`) stops reading, not the
    command: a run goes on sending and recording, its further output unread."""
    try:
        sys.stdout.write(text if escaped else printable(text))
    except BrokenPipeError:
        _reader_gone(sys.stdout)


def _reader_gone(stream: Any) -> None:
    """Point the stream at /dev/null, so that later writes and the flush at exit succeed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


def warn(line: str) -> None:
    """One line on stderr, as given, line breaks from data shown as escapes like `plain`
    (to nobody, once its reader went away)."""
    try:
        sys.stderr.write(_one_line(line) + "\n")
    except BrokenPipeError:
        _reader_gone(sys.stderr)


def attention_line(store: Store) -> str | None:
    """`needs attention: 2 unknown, 1 failed (certify log --state unknown)`, or None."""
    from certify.inspect.history import History, attention_label

    counts = History(store).attention()
    if not counts:
        return None
    first = next(iter(counts)).split()[0]
    listed = ", ".join(f"{count} {attention_label(name)}" for name, count in counts.items())
    return _("needs attention: {listed} (certify log --state {state})").format(
        listed=listed, state=first
    )


def main() -> None:
    """The `certify` console script."""
    # A command is one short process that makes many small objects without cycles (a dry
    # run judges 200,000 participants and lists as many deliveries); at its default pace,
    # a pass every 700 new objects, the cyclic collector walks them again and again.
    gc.set_threshold(50_000, 20, 20)
    try:
        app()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BrokenPipeError:
                _reader_gone(stream)
        # the work is done: spare the exit a last walk over every object still alive
        gc.freeze()
