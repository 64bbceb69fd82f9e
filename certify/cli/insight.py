"""Looking at what happened and why: `explain`, `preview`, `log`, `report`."""

from __future__ import annotations

import textwrap
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from certify.cli.app import (
    ActionFilter,
    ActionsOption,
    CourseFilter,
    CourseOption,
    DbOption,
    JsonOption,
    NowOption,
    PersonOption,
    app,
    config_from,
    configured_at,
    console,
    display_zone,
    emit_json,
    errors,
    interactive,
    local_time,
    option,
    plain,
    warn,
    write,
)
from certify.deliver.state import DeliveryState
from certify.errors import CertifyError
from certify.locale import _, ngettext
from certify.store.database import Store, db_path
from certify.words import state_word

if TYPE_CHECKING:
    from email.message import EmailMessage

    from rich.table import Table


FindPersonOption = Annotated[
    str, option("--person", "TEXT", "The person: a person_id, an e-mail address or part of a name.")
]


@app.command()
def explain(
    person: FindPersonOption,
    course: Annotated[
        str | None, option("--course", "ID", "The course_id (default: every course of the person).")
    ] = None,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why did this participant (not) get each e-mail? Figures, due moments, states, history."""
    from certify.inspect.explain import explain_person, explanation_json, explanation_text

    with errors():
        config, moment = configured_at(actions, now)
        with Store.open_readonly(db_path(db)) as store:
            explanations = explain_person(store, config, person, course, moment)
    if as_json:
        emit_json(explanation_json(explanations, config.tz))
        return
    for line, indent in explanation_text(explanations, config.tz):
        # wrapping turns the data's own line breaks into spaces; its breaks are the lines
        for piece in [line] if indent is None else _fit(line, indent).split("\n"):
            plain(piece)


def _fit(line: str, indent: str) -> str:
    """One line of `explain`, wrapped to 80 columns (read on the phone, pasted in a mail)."""
    return textwrap.fill(
        line, width=80, initial_indent=indent, subsequent_indent=indent + "  ",
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip


@app.command()
def preview(
    action: Annotated[str, typer.Argument(metavar="ACTION", help="The action id.")],
    course: CourseOption,
    person: PersonOption,
    now: NowOption = None,
    save_attachments: Annotated[
        Path | None,
        option("--save-attachments", "FOLDER", "Write the attachments (the PDF) into this folder."),
    ] = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """Render one e-mail to the terminal, as it would be sent; sends nothing."""
    from certify.inspect.explain import preview_message

    with errors():
        config, moment = configured_at(actions, now)
        with Store.open_readonly(db_path(db)) as store:
            message = preview_message(store, config, action, course, person, moment).parsed()
    if save_attachments is not None:
        from certify.outfile import make_private_folder, write_private_bytes

        make_private_folder(save_attachments)
        for part in message.iter_attachments():
            name = part.get_filename() or "attachment.bin"
            target = save_attachments / name
            payload = part.get_payload(decode=True)
            write_private_bytes(target, payload if isinstance(payload, bytes) else b"")
            warn(_("saved {path}").format(path=target))
    write(_readable(message))


def _readable(message: EmailMessage) -> str:
    """Headers and the text part, with attachments named rather than dumped as base64."""
    lines = [
        f"{name}: {value}"
        for name, value in message.items()
        if name.lower() not in ("content-type", "mime-version", "content-transfer-encoding")
    ]
    body = message.get_body(("plain",))
    lines.append("")
    # the message keeps the CRLF line ends of mail; a terminal shows lines
    lines.append(body.get_content().replace("\r\n", "\n") if body is not None else "")
    for part in message.iter_attachments():
        lines.append(f"[attachment: {part.get_filename()} ({part.get_content_type()})]")
    if message.get_body(("html",)) is not None:
        lines.append("[alternative: text/html]")
    return "\n".join(lines) + "\n"


_ALL_BUT_LAST, _comma, _LAST = ", ".join(DeliveryState).rpartition(", ")


@app.command("log")
def log_command(
    action: ActionFilter = None,
    course: CourseFilter = None,
    person: Annotated[
        str | None,
        option(
            "--person",
            "TEXT",
            "Only this person: a person_id, an e-mail address or part of a name.",
        ),
    ] = None,
    state: Annotated[
        DeliveryState | None,
        typer.Option(
            "--state",
            metavar="STATE",
            case_sensitive=False,
            help=f"Only this state: {_ALL_BUT_LAST} or {_LAST}.",
        ),
    ] = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """The delivery log."""
    from certify.decide.facts import find_people
    from certify.inspect.history import History

    with errors():
        with Store.open_readonly(db_path(db)) as store:
            people = None
            if person is not None:
                people = [row[0] for row in find_people(store.conn, person)]
                if not people:
                    raise CertifyError(
                        _("no person matches {person}").format(person=repr(person)),
                        hint=_("give a person_id, an e-mail address or part of a name"),
                    )
            history = History(store)
            rows = history.listing(action=action, state=state, course=course, people=people)
            if not rows:  # a filter that names nothing is a typo, not an empty log
                history.check_filters(
                    action=action, course=course, configured=_configured_actions(actions)
                )
        tz = display_zone(actions)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        filtered = any(value is not None for value in (action, course, person, state))
        warn(_("no deliveries match") if filtered else _("no deliveries yet"))
        return
    titles = _action_titles(actions)
    for row in rows:
        row["action"] = titles.get(row["action"], row["action"])
    if not interactive():
        for row in rows:
            address = f" <{row['email']}>" if row["email"] else ""
            error = f"  {row['last_error']}" if row["last_error"] else ""
            plain(
                f"{row['state']:<8} {row['action']} {row['course']}/{row['person']}{address} "
                f"attempts={row['attempts']} {local_time(row['sent_at'], tz, zone=True)} "
                f"{row['certificate_number'] or ''}{error}".rstrip()
            )
        return
    screen = console()
    screen.print(_log_table(rows, tz, screen.width))


def _log_table(rows: list[dict[str, Any]], tz: tzinfo, width: int) -> Table:
    """The log for a terminal: a line a delivery when that fits, else stacked cells, so that
    course ids, sent times and certificate numbers stay whole even in 80 columns."""
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    title = _("Delivery log ({count})").format(count=len(rows))
    grid = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False)
    last_error = _("last error")
    columns = [
        (_("course"), [row["course"] for row in rows]),
        (_("action"), [row["action"] for row in rows]),
        (_("person"), [_who(row) for row in rows]),
        (_("address"), [row["email"] or "" for row in rows]),
        (_("state"), [", ".join(_state(row)) for row in rows]),
        (_("sent"), [local_time(row["sent_at"], tz) for row in rows]),
        (_("certificate"), [row["certificate_number"] or "" for row in rows]),
        (last_error, [row["last_error"] or "" for row in rows]),
    ]
    if not any(columns[-1][1]):
        columns.pop()
    # an error may fold to a few lines; every other column keeps its widest cell
    natural = sum(
        min(max(map(cell_len, [name, *cells])), 30 if name == last_error else width)
        for name, cells in columns
    )
    if natural + 3 * (len(columns) - 1) + 2 <= width:
        for name, _cells in columns:
            grid.add_column(name, overflow="fold", no_wrap=name != last_error)
        for values in zip(*(cells for _name, cells in columns), strict=True):
            grid.add_row(*values)
        return grid
    # Too wide: two or three things in a cell, one under the other. What people copy and
    # compare (course, sent time, certificate number) never wraps; the rest folds.
    course_width = max(10, *(len(row["course"]) for row in rows))
    cells = []
    for row in rows:
        # an action id breaks at its hyphens rather than anywhere
        action = textwrap.wrap(row["action"], course_width, break_long_words=False)
        what = [*_state(row), local_time(row["sent_at"], tz), row["last_error"] or ""]
        cells.append(
            (
                "\n".join([row["course"], *action]),
                "\n".join(part for part in (_who(row), row["email"]) if part),
                "\n".join(part for part in what if part),
                row["certificate_number"] or "",
            )
        )
    widths = [
        max(cell_len(line) for cell in column for line in cell.split("\n"))
        for column in zip(*cells, strict=True)
    ]
    # the state column gets what the others leave, and at least a sent time: an error folds
    # in it before a name or an address does
    rest = width - widths[0] - widths[1] - widths[3] - 3 * 3 - 2
    grid.add_column(_("course") + "\n" + _("action"), no_wrap=True)
    grid.add_column(_("person") + "\n" + _("address"), overflow="fold")
    state_width = max(16, min(rest, widths[2]))
    grid.add_column(_("state") + "\n" + _("sent"), overflow="fold", width=state_width)
    grid.add_column(_("certificate"), no_wrap=True)
    for values in cells:
        grid.add_row(*values)
    return grid


def _who(row: dict[str, Any]) -> str:
    return f"{row['person']} {row['name']}" if row["name"] else str(row["person"])


def _state(row: dict[str, Any]) -> list[str]:
    """The state, and the attempts when they say something (a first send is one)."""
    attempts = row["attempts"]
    if attempts > 1 or (attempts and row["state"] != DeliveryState.SENT):
        tries = ngettext("{count} attempt", "{count} attempts", attempts).format(count=attempts)
        return [state_word(row["state"]), tries]
    return [state_word(row["state"])]


def _action_titles(actions: Path | None) -> dict[str, str]:
    """Each action of actions.yaml as people read it (its name); none when it cannot be read."""
    from certify.words import action_title

    try:
        return {a.id: action_title(a.name, a.id) for a in config_from(actions).actions}
    except CertifyError:
        return {}


def _configured_actions(actions: Path | None) -> list[str]:
    """The action ids of actions.yaml; none when it cannot be read (the log needs no config)."""
    try:
        return [configured.id for configured in config_from(actions).actions]
    except CertifyError:
        return []


@app.command()
def report(
    out_file: Annotated[
        Path,
        option("--out", "FILE", "The HTML file to write (replaced if it exists)."),
    ],
    now: NowOption = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days",
            min=1,
            max=366,
            metavar="N",
            help="How many days ahead the forecast looks [default: 14].",
        ),
    ] = None,
    expiring_days: Annotated[
        int | None,
        typer.Option(
            "--expiring-days",
            min=1,
            max=3660,
            metavar="N",
            help="How many days ahead the section of expiring certificates looks [default: 60].",
        ),
    ] = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """One HTML page for a training manager: courses, participants, attention, what comes next."""
    # imported here: Jinja2 and Babel stay out of every cron tick's start-up
    from certify.outfile import check_target, write_whole
    from certify.report.expiring import DEFAULT_EXPIRING_DAYS
    from certify.report.page import DEFAULT_DAYS, build_report, render_report

    with errors():
        check_target(out_file)  # before the work, not after it
        config, moment = configured_at(actions, now)
        with Store.open_readonly(db_path(db)) as store:
            result = build_report(
                store,
                config,
                moment,
                days=DEFAULT_DAYS if days is None else days,
                expiring_days=DEFAULT_EXPIRING_DAYS if expiring_days is None else expiring_days,
            )
        write_whole(out_file, render_report(result))
    totals = result.totals
    plain(
        _(
            "wrote {path}: {courses} courses, {participants} participants; {problems} "
            "deliveries need attention, {at_risk} participants at risk"
        ).format(path=out_file, **totals)
    )
