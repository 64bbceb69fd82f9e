"""Looking at what happened and why: `explain`, `preview`, `log`, `report`."""

from __future__ import annotations

import sys
import textwrap
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from certify.cli.app import (
    ActionsOption,
    CourseOption,
    DbOption,
    JsonOption,
    NowOption,
    PersonOption,
    app,
    config_from,
    console,
    emit_json,
    errors,
    interactive,
    parse_now,
    plain,
    warn,
)
from certify.clock import from_utc_text
from certify.config import actions_path, read_timezone
from certify.errors import CertifyError
from certify.store import Store, db_path

if TYPE_CHECKING:
    from email.message import EmailMessage


FindPersonOption = Annotated[
    str,
    typer.Option("--person", help="The person: a person_id, an e-mail address or part of a name."),
]


@app.command()
def explain(
    person: FindPersonOption,
    course: Annotated[
        str | None,
        typer.Option("--course", help="The course_id (needed when the person has several)."),
    ] = None,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why did this participant (not) get each e-mail? Figures, due moments, states, history."""
    from certify.explain import explain_participant, resolve_participant

    with errors():
        config = config_from(actions)
        moment = parse_now(now, config.tz)
        with Store.open_readonly(db_path(db)) as store:
            course_id, person_id = resolve_participant(store, person, course)
            result = explain_participant(store, config, course_id, person_id, moment)
    if as_json:
        emit_json(result)
        return
    tz = config.tz
    plain(
        f"{result['person_name']} in {result['course_name']} "
        f"({result['course']}/{result['person']})"
    )
    for item in result["actions"]:
        plain("")
        plain(_fit(f"{item['action']}: {item['state']} — {item['meaning']}", ""))
        for line in item["lines"]:
            plain(_fit(line, "  "))
        for event in item["history"]:
            at = from_utc_text(event["at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            detail = f" ({event['detail']})" if event["detail"] else ""
            plain(_fit(f"{at}  {event['state']}{detail}", "  "))


def _fit(line: str, indent: str) -> str:
    """One line of `explain`, wrapped to 80 columns (read on the phone, pasted in a mail)."""
    return textwrap.fill(
        line, width=80, initial_indent=indent, subsequent_indent=indent + "  ",
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip


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

    with errors():
        config = config_from(actions)
        moment = parse_now(now, config.tz)
        with Store.open_readonly(db_path(db)) as store:
            message = preview_message(store, config, action, course, person, moment).parsed()
    if save_attachments is not None:
        save_attachments.mkdir(parents=True, exist_ok=True)
        for part in message.iter_attachments():
            name = part.get_filename() or "attachment.bin"
            target = save_attachments / name
            payload = part.get_payload(decode=True)
            target.write_bytes(payload if isinstance(payload, bytes) else b"")
            warn(f"saved {target}")
    sys.stdout.write(_readable(message))


def _readable(message: EmailMessage) -> str:
    """Headers and the text part, with attachments named rather than dumped as base64."""
    lines = [
        f"{name}: {value}"
        for name, value in message.items()
        if name.lower() not in ("content-type", "mime-version")
    ]
    body = message.get_body(("plain",))
    lines.append("")
    lines.append(body.get_content() if body is not None else "")
    for part in message.iter_attachments():
        lines.append(f"[attachment: {part.get_filename()} ({part.get_content_type()})]")
    if message.get_body(("html",)) is not None:
        lines.append("[alternative: text/html]")
    return "\n".join(lines) + "\n"


@app.command("log")
def log_command(
    action: Annotated[str | None, typer.Option("--action", help="Only this action id.")] = None,
    course: Annotated[str | None, typer.Option("--course", help="Only this course_id.")] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            help="Only this person: a person_id, an e-mail address or part of a name.",
        ),
    ] = None,
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
    from certify.facts import find_people
    from certify.history import History

    with errors():
        with Store.open_readonly(db_path(db)) as store:
            people = None
            if person is not None:
                people = [row[0] for row in find_people(store.conn, person)]
                if not people:
                    raise CertifyError(
                        f"no person matches {person!r}",
                        hint="give a person_id, an e-mail address or part of a name",
                    )
            rows = History(store).listing(action=action, state=state, course=course, people=people)
        tz = _log_tz(actions)
    if as_json:
        emit_json(rows)
        return
    if not interactive():
        for row in rows:
            sent = _local(row["sent_at"], tz)
            error = f"  {row['last_error']}" if row["last_error"] else ""
            plain(
                f"{row['state']:<8} {row['action']} {row['course']}/{row['person']} "
                f"<{row['email'] or ''}> attempts={row['attempts']} {sent} "
                f"{row['certificate_number'] or ''}{error}".rstrip()
            )
        return
    from rich.table import Table

    grid = Table(title=f"Delivery log ({len(rows)})")
    columns = (
        "action",
        "course",
        "person",
        "email",
        "state",
        "attempts",
        "sent",
        "certificate",
        "last error",
    )
    for column in columns:
        grid.add_column(column)
    for row in rows:
        sent = (
            f"{from_utc_text(row['sent_at']).astimezone(tz):%Y-%m-%d %H:%M}"
            if row["sent_at"]
            else ""
        )
        grid.add_row(
            row["action"],
            row["course"],
            row["person"],
            row["email"] or "",
            row["state"],
            str(row["attempts"]),
            sent,
            row["certificate_number"] or "",
            row["last_error"] or "",
        )
    console().print(grid)


def _local(moment: str | None, tz: tzinfo) -> str:
    return f"{from_utc_text(moment).astimezone(tz):%Y-%m-%d %H:%M}" if moment else ""


def _log_tz(actions: Path | None) -> tzinfo:
    try:
        return read_timezone(actions_path(actions))
    except CertifyError:
        return UTC


@app.command()
def report(
    out_file: Annotated[
        Path, typer.Option("--out", help="The HTML file to write (replaced if it exists).")
    ],
    now: NowOption = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days", min=1, max=366, help="How many days ahead the forecast looks [default: 14]."
        ),
    ] = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """One HTML page for a training manager: courses, participants, attention, what comes next."""
    # imported here: Jinja2 and Babel stay out of every cron tick's start-up
    from certify.report import DEFAULT_DAYS, build_report, render_report, write_report

    with errors():
        config = config_from(actions)
        moment = parse_now(now, config.tz)
        with Store.open_readonly(db_path(db)) as store:
            result = build_report(
                store, config, moment, days=DEFAULT_DAYS if days is None else days
            )
        write_report(out_file, render_report(result))
    totals = result.totals
    plain(
        f"wrote {out_file}: {totals['courses']} courses, {totals['participants']} participants; "
        f"{totals['problems']} deliveries need attention, {totals['at_risk']} participants at risk"
    )
