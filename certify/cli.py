"""The command line: options, output (Rich tables, plain lines under cron, --json), exit codes.

No logic lives here: each command translates options, calls the library, and prints.
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
from rich.table import Table

from certify import __version__
from certify.clock import DateFormatError, from_utc_text, parse_moment
from certify.config import Config, actions_path, load, read_timezone
from certify.errors import EXIT_NOT_ACCEPTED, CertifyError, LocatedErrors, UsageError
from certify.store import Store, db_path

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


def _fail(exc: CertifyError) -> NoReturn:
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
def _errors() -> Iterator[None]:
    try:
        yield
    except CertifyError as exc:
        _fail(exc)


def _parse_now(now: str | None, tz: tzinfo) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_moment(now, tz)
    except DateFormatError as exc:
        raise UsageError(f"--now: {exc}") from None


def _config(actions: Path | None) -> Config:
    return load(actions_path(actions))


def _emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _interactive() -> bool:
    return out.is_terminal


# -- import ----------------------------------------------------------------------------------------


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

    with _errors():
        tz = read_timezone(actions_path(actions))
        moment = _parse_now(now, tz)
        path = db_path(db)
        existed = path.exists()
        store = Store.open(path)
        try:
            report = import_files(
                store,
                paths,
                tz=tz,
                now=moment,
                snapshot=snapshot,
                table=table,
                progress=(lambda line: err.print(line, style="dim")) if _interactive() else None,
            )
        except CertifyError:
            store.close()
            if not existed:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            raise
        store.close()
    for warning in report.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    if as_json:
        _emit_json(report.as_json())
        return
    if not _interactive():
        for name, counts in report.counts.items():
            out.print(
                f"{name}: {counts.inserted} inserted, {counts.updated} updated, "
                f"{counts.unchanged} unchanged, {counts.removed} removed",
                highlight=False,
            )
        return
    grid = Table(title=f"Import #{report.import_id} into {path}")
    for column in ("table", "rows", "inserted", "updated", "unchanged", "removed"):
        grid.add_column(column, justify="left" if column == "table" else "right")
    for name, counts in report.counts.items():
        grid.add_row(
            name, *(str(v) for v in (counts.rows, counts.inserted, counts.updated,
                                     counts.unchanged, counts.removed))
        )  # fmt: skip
    out.print(grid)


# -- validate / schema -----------------------------------------------------------------------------


@app.command()
def validate(actions: ActionsOption = None, as_json: JsonOption = False) -> None:
    """Check actions.yaml and every template; no database needed (for CI)."""
    from certify.validate import validate_all

    path = actions_path(actions)
    problems = validate_all(path)
    if as_json:
        _emit_json({"file": str(path), "ok": not problems, "problems": problems})
    else:
        for problem in problems:
            err.print(problem, markup=False, highlight=False)
        if problems:
            err.print(
                f"error: {len(problems)} problem(s) in {path} and its templates", highlight=False
            )
        else:
            out.print(f"{path}: ok", highlight=False)
    if problems:
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of actions.yaml, for editors."""
    from certify.config import Settings

    _emit_json(Settings.model_json_schema(by_alias=True))


# -- run-due ---------------------------------------------------------------------------------------


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
    transport: Annotated[
        str | None,
        typer.Option("--transport", help="dir or smtp (else actions.yaml's delivery.transport)."),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="With --transport dir: the folder for .eml files.")
    ] = None,
    smtp_host: Annotated[
        str | None, typer.Option("--smtp-host", envvar="CERTIFY_SMTP_HOST", help="SMTP server.")
    ] = None,
    smtp_port: Annotated[
        int | None, typer.Option("--smtp-port", envvar="CERTIFY_SMTP_PORT", help="SMTP port.")
    ] = None,
    smtp_security: Annotated[
        str | None,
        typer.Option(
            "--smtp-security",
            envvar="CERTIFY_SMTP_SECURITY",
            help="starttls (default), ssl or none.",
        ),
    ] = None,
    smtp_user: Annotated[
        str | None,
        typer.Option(
            "--smtp-user",
            envvar="CERTIFY_SMTP_USER",
            help="SMTP login; the password comes only from CERTIFY_SMTP_PASSWORD.",
        ),
    ] = None,
    smtp_ca_file: Annotated[
        Path | None,
        typer.Option(
            "--smtp-ca-file", envvar="CERTIFY_SMTP_CA_FILE", help="Trust this CA for the server."
        ),
    ] = None,
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

    with _errors():
        config = _config(actions)
        templates = Templates.checked(config)
        moment = _parse_now(now, config.tz)
        chosen = [config.action(a) for a in action] if action else config.actions
        path = db_path(db)
        log = _log_line if not as_json and not _interactive() else (lambda line: None)
        if dry_run:
            store = Store.open_readonly(path)
            report = Runner(store, config, templates, moment).run(chosen, None, limit=limit)
            store.close()
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
            with run_lock(path, wait):
                store = Store.open(path, create=False)
                try:
                    runner = Runner(store, config, templates, moment, log=log)
                    if _interactive() and not as_json:
                        report = _with_progress(runner, chosen, chosen_transport, limit)
                    else:
                        report = runner.run(chosen, chosen_transport, limit=limit)
                finally:
                    store.close()
    if as_json:
        _emit_json(report.as_json())
    else:
        _print_run(report, config)
    if report.not_accepted and not report.dry_run:
        raise typer.Exit(EXIT_NOT_ACCEPTED)


def _log_line(line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out.print(f"{stamp} {line}", markup=False, highlight=False)


def _with_progress(runner: Any, chosen: Any, transport: Any, limit: int | None) -> Any:
    from rich.progress import Progress

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("sending", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return runner.run(chosen, transport, limit=limit, progress=advance)


def _print_run(report: Any, config: Config) -> None:
    tz = config.tz
    verb = "would send" if report.dry_run else "sent"
    if report.deliveries and (_interactive() or report.dry_run):
        grid = Table(
            title=f"{'Dry run' if report.dry_run else 'Run'} at {report.now.astimezone(tz):%Y-%m-%d %H:%M %Z}"
        )
        for column in ("action", "course", "person", "due", "state"):
            grid.add_column(column)
        plan_by_key = {}
        if report.plan is not None:
            plan_by_key = {d.key: d for d in report.plan.decisions}
        for item in report.deliveries:
            decision = plan_by_key.get((item.action, item.course, item.person))
            due = (
                from_utc_text(item.due_at).astimezone(tz).strftime("%Y-%m-%d %H:%M")
                if item.due_at
                else ""
            )
            who = item.person
            if decision is not None:
                who = f"{item.person}"
            grid.add_row(
                item.action,
                item.course,
                who,
                due,
                item.state + (f": {item.error}" if item.error else ""),
            )
        out.print(grid)
    summary = (
        f"{verb} {report.sent}, failed {report.failed}, pending {report.pending}, "
        f"unknown {report.unknown}, skipped {report.skipped}, expired {report.expired}; "
        f"waiting on conditions {report.waiting}, not yet due {report.not_due}"
    )
    out.print(summary, highlight=False)
    if report.waiting_on and (report.dry_run or _interactive()):
        grid = Table(title="What waits on what")
        grid.add_column("action: reason")
        grid.add_column("participants", justify="right")
        for reason, count in report.waiting_on.items():
            grid.add_row(reason, str(count))
        out.print(grid)
    if report.stopped:
        err.print(f"stopped: {report.stopped}", highlight=False)


# -- explain / preview / send / log / mark ----------------------------------------------------------


@app.command()
def explain(
    course: CourseOption,
    person: PersonOption,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why did this participant (not) get each e-mail? Figures, due moments, states, history."""
    from certify.explain import explain_participant

    with _errors():
        config = _config(actions)
        moment = _parse_now(now, config.tz)
        store = Store.open_readonly(db_path(db))
        result = explain_participant(store, config, course, person, moment)
        store.close()
    if as_json:
        _emit_json(result)
        return
    tz = config.tz
    out.print(
        f"[bold]{result['person_name']}[/] in [bold]{result['course_name']}[/] ({course}/{person})"
    )
    for item in result["actions"]:
        out.print()
        out.print(f"[bold]{item['action']}[/]: {item['state']}", highlight=False)
        for line in item["lines"]:
            out.print(f"  {line}", markup=False, highlight=False)
        for event in item["history"]:
            at = from_utc_text(event["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            detail = f" ({event['detail']})" if event["detail"] else ""
            out.print(f"  {at}  {event['state']}{detail}", markup=False, highlight=False)


@app.command()
def preview(
    action: Annotated[str, typer.Argument(help="The action id.")],
    course: CourseOption,
    person: PersonOption,
    now: NowOption = None,
    save_attachments: Annotated[
        Path | None,
        typer.Option(
            "--save-attachments", help="Write the attachments (the PDF) into this folder."
        ),
    ] = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """Render one e-mail to the terminal, as it would be sent; sends nothing."""
    from certify.explain import preview_message

    with _errors():
        config = _config(actions)
        moment = _parse_now(now, config.tz)
        store = Store.open_readonly(db_path(db))
        message = preview_message(store, config, action, course, person, moment)
        store.close()
    if save_attachments is not None:
        save_attachments.mkdir(parents=True, exist_ok=True)
        for part in message.iter_attachments():
            name = part.get_filename() or "attachment.bin"
            target = save_attachments / name
            payload = part.get_payload(decode=True)
            target.write_bytes(payload if isinstance(payload, bytes) else b"")
            err.print(f"saved {target}", markup=False, highlight=False)
    sys.stdout.write(_readable(message))


def _readable(message: Any) -> str:
    """Headers and the text part, with attachments named rather than dumped as base64."""
    lines = [f"{name}: {value}" for name, value in message.items()
             if name.lower() not in ("content-type", "mime-version")]  # fmt: skip
    body = message.get_body(("plain",))
    lines.append("")
    lines.append(body.get_content() if body is not None else "")
    for part in message.iter_attachments():
        lines.append(f"[attachment: {part.get_filename()} ({part.get_content_type()})]")
    html = message.get_body(("html",))
    if html is not None:
        lines.append("[alternative: text/html]")
    return "\n".join(lines) + "\n"


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

    with _errors():
        if force and not reason:
            raise UsageError("--force needs --reason TEXT, for the delivery log")
        config = _config(actions)
        moment = _parse_now(now, config.tz)
        chosen = choose_transport(config, transport=transport, out=out_dir)
        path = db_path(db)
        store = Store.open(path, create=False)
        with run_lock(path):
            outcome = send_one(store, config, action, course, person, moment, chosen,
                               force=force, reason=reason)  # fmt: skip
        store.close()
    if as_json:
        _emit_json(outcome.as_json())
    else:
        out.print(
            f"{outcome.state}: {action} {course}/{person}"
            + (f": {outcome.error}" if outcome.error else ""),
            highlight=False,
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

    with _errors():
        if state not in ("sent", "failed"):
            raise UsageError("--as takes sent or failed")
        store = Store.open(db_path(db), create=False)
        mark_delivery(store, action, course, person, state, reason, _parse_now(None, UTC))
        store.close()
    out.print(f"{action} {course}/{person}: marked {state}", highlight=False)


@app.command("log")
def log_command(
    action: Annotated[str | None, typer.Option("--action", help="Only this action id.")] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help="Only this state (sent, pending, failed, unknown, skipped, expired)."
        ),
    ] = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """The delivery log."""
    from certify.deliveries import DeliveryLog

    with _errors():
        store = Store.open_readonly(db_path(db))
        rows = DeliveryLog(store, _parse_now(None, UTC)).listing(action=action, state=state)
        store.close()
        tz = _log_tz(actions)
    if as_json:
        _emit_json(rows)
        return
    if not _interactive():
        for row in rows:
            sent = row["sent_at"] or ""
            error = f"  {row['last_error']}" if row["last_error"] else ""
            out.print(
                f"{row['state']:<8} {row['action']} {row['course']}/{row['person']} "
                f"<{row['email'] or ''}> attempts={row['attempts']} {sent} "
                f"{row['certificate_number'] or ''}{error}".rstrip(),
                markup=False,
                highlight=False,
            )
        return
    grid = Table(title=f"Delivery log ({len(rows)})")
    for column in (
        "action",
        "course",
        "person",
        "email",
        "state",
        "attempts",
        "sent",
        "certificate",
        "last error",
    ):
        grid.add_column(column)
    for row in rows:
        sent = (
            from_utc_text(row["sent_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            if row["sent_at"]
            else ""
        )
        grid.add_row(row["action"], row["course"], row["person"], row["email"] or "", row["state"],
                     str(row["attempts"]), sent, row["certificate_number"] or "", row["last_error"] or "")  # fmt: skip
    out.print(grid)


def _log_tz(actions: Path | None) -> tzinfo:
    try:
        return read_timezone(actions_path(actions))
    except CertifyError:
        return UTC


def main() -> None:
    app()
