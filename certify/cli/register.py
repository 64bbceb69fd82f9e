"""The certificate register: `certify certificates list|get|export|verify|revoke|publish`."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from certify.cli.app import (
    ActionsOption,
    CourseFilter,
    DbOption,
    JsonOption,
    NowOption,
    PersonFilter,
    WaitOption,
    _App,
    app,
    config_from,
    emit_json,
    errors,
    parse_now,
    plain,
    warn,
)
from certify.cli.transport_options import TransportChoice, with_transport_options
from certify.clock import to_utc_text
from certify.config import actions_path, read_timezone
from certify.errors import EXIT_NOT_ACCEPTED, CertifyError, UsageError
from certify.locale import _, ngettext
from certify.store.database import Store, db_path
from certify.words import certificate_state_word, state_word

if TYPE_CHECKING:
    from collections.abc import Iterator

    from certify.register.keep import Entry, Register

certificates = _App(
    name="certificates",
    help="The register of issued certificates: list, get, export, verify, revoke, reissue, "
    "publish.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)
app.add_typer(certificates, name="certificates")

Reference = Annotated[
    str,
    typer.Argument(
        metavar="NUMBER|CODE",
        help="A certificate number (2026-000123-4) or its code (ABCD-EFGH-JKMN, any case).",
    ),
]
ReasonOption = Annotated[
    str, typer.Option("--reason", metavar="TEXT", help="Why, for the certificate's history.")
]


def _zone(actions: Path | None) -> tzinfo:
    try:
        return read_timezone(actions_path(actions))
    except CertifyError:
        return UTC


def _moment(now: str | None, actions: Path | None) -> tuple[datetime, date]:
    """The moment of a command and its local date: expiry is counted in local days."""
    tz = _zone(actions)
    moment = parse_now(now, tz)
    return moment, moment.astimezone(tz).date()


@contextmanager
def _reading(now: str | None, actions: Path | None, db: Path | None) -> Iterator[Register]:
    """The register as of the command's local day, read-only."""
    from certify.register.keep import Register

    _at, today = _moment(now, actions)
    with Store.open_readonly(db_path(db)) as store:
        yield Register(store, today)


def _line(entry: Entry) -> str:
    name = entry.full_name or _("(withdrawn)")
    said = certificate_state_word(str(entry.state))
    if entry.superseded_by:
        said = _("{state} by {number}").format(state=said, number=entry.superseded_by)
    if entry.revoked_reason and entry.state == "revoked":
        said += f" ({entry.revoked_reason})"
    issued = _("{number} {state}: {name}, {course} ({course_id}), issued {issued}").format(
        number=entry.number,
        state=said,
        name=name,
        course=entry.course_name,
        course_id=entry.course_id,
        issued=entry.issued_on,
    )
    if entry.valid_until:
        issued += _(", valid until {day}").format(day=entry.valid_until)
    return issued


@certificates.command("list")
def list_certificates(
    course: CourseFilter = None,
    person: PersonFilter = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="STATE",
            help="Only this state: valid, expired, revoked, superseded or withdrawn.",
        ),
    ] = None,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """The issued certificates, oldest first: number, code, person, course, dates, state."""
    from certify.register.keep import LISTED, CertificateState
    from certify.words import certificate_source_word, certificate_state_word

    with errors():
        if state is not None and state not in set(CertificateState):
            raise UsageError(
                _("unknown state {state} (valid, expired, revoked, superseded, withdrawn)").format(
                    state=repr(state)
                )
            )
        with _reading(now, actions, db) as register:
            found = register.entries(course=course, person=person, state=state)
    if as_json:
        emit_json([entry.listed() for entry in found])
        return
    said = {"state": certificate_state_word, "source": certificate_source_word}
    for entry in found:
        row = entry.listed()
        # read by people, as the log is: its words in their language (--json keeps them)
        plain("\t".join(said.get(key, str)(row[key]) for key in LISTED))


@certificates.command()
def get(
    reference: Reference,
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Where to write the PDF.")],
    db: DbOption = None,
) -> None:
    """Write a certificate's PDF exactly as it was issued."""
    from certify.register.keep import Register
    from certify.register.site import write_bytes

    with errors(), Store.open_readonly(db_path(db)) as store:
        register = Register(store, date.today())
        entry = register.find(reference)
        write_bytes(out, register.pdf(entry.number))
    plain(_("wrote certificate {number} to {path}").format(number=entry.number, path=out))


@certificates.command()
def export(
    out: Annotated[Path, typer.Option("--out", metavar="FILE.zip", help="The zip file to write.")],
    course: CourseFilter = None,
    since: Annotated[
        str | None,
        typer.Option("--since", metavar="DATE", help="Only certificates issued on or after it."),
    ] = None,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """The kept PDFs as COURSE_ID/NUMBER - FULL NAME.pdf, with register.csv, in one zip."""
    from certify.outfile import check_target
    from certify.register.export import export_zip

    with errors():
        since_day = _day(since) if since else None
        check_target(out)
        with _reading(now, actions, db) as register:
            entries = register.entries(course=course, since=since_day)
            count = export_zip(entries, register.pdf, out)
    plain(
        ngettext(
            "wrote {count} certificate and register.csv to {path}",
            "wrote {count} certificates and register.csv to {path}",
            count,
        ).format(count=count, path=out)
    )


def _day(text: str) -> str:
    from certify.clock import DateFormatError, parse_written

    try:
        written = parse_written(text)
    except (DateFormatError, ValueError):
        raise UsageError(
            _("--since {text}: not a date (2026-11-01 or 01-11-2026)").format(text=repr(text))
        ) from None
    return (written if isinstance(written, date) else written.date()).isoformat()


@certificates.command()
def verify(
    reference: Reference,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """A certificate's state in one line; exit 0 valid, 3 known but not valid, 1 unknown."""
    from certify.register.keep import CertificateState

    with errors(), _reading(now, actions, db) as register:
        entry = register.find(reference)
    plain(_line(entry))
    raise typer.Exit(0 if entry.state == CertificateState.VALID else EXIT_NOT_ACCEPTED)


@certificates.command()
def revoke(
    reference: Reference,
    reason: ReasonOption,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """Revoke a certificate (its page says so once published again); nothing is mailed."""
    from certify.register.keep import Register

    with errors():
        if not reason.strip():
            raise UsageError(_("--reason is empty: say why, for the certificate's history"))
        moment, today = _moment(now, actions)
        with Store.open(db_path(db), create=False) as store:
            register = Register(store, today)
            entry = register.find(reference)
            register.revoke(entry, reason.strip(), to_utc_text(moment))
    plain(
        _("revoked certificate {number} ({name}, {course})").format(
            number=entry.number, name=entry.full_name, course=entry.course_name
        )
    )


@certificates.command()
def publish(
    out: Annotated[
        Path, typer.Option("--out", metavar="FOLDER", help="The folder of the static site.")
    ],
    include_imported: Annotated[
        bool,
        typer.Option(
            "--include-imported",
            help="Also give the certificates of the previous system (certificates.csv) a "
            "page: certify never saw them, so by default it does not vouch for them.",
        ),
    ] = False,
    now: NowOption = None,
    db: DbOption = None,
    actions: ActionsOption = None,
) -> None:
    """Write the verification site: a page per certificate at FOLDER/CODE/index.html."""
    from certify.register.keep import Register
    from certify.register.site import publish as write_site

    with errors():
        config = config_from(actions)
        moment = parse_now(now, config.tz)
        today = moment.astimezone(config.tz).date()
        if out.exists() and not out.is_dir():
            raise CertifyError(
                _("{path}: is a file").format(path=out),
                hint=_("give --out a folder for the site"),
            )
        with Store.open_readonly(db_path(db)) as store:
            entries = [
                entry
                for entry in Register(store, today).entries()
                if include_imported or entry.source != "imported"
            ]
            done = write_site(
                entries,
                out,
                issuer=config.settings.certificates.issuer,
                language=config.settings.locale,
            )
    plain(
        _(
            "published {count} certificates to {path}: {written} pages written, "
            "{unchanged} unchanged"
        ).format(count=len(entries), path=out, written=done.written, unchanged=done.unchanged)
    )


@certificates.command()
@with_transport_options
def reissue(
    reference: Reference,
    reason: ReasonOption,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the message it would send; change nothing."),
    ] = False,
    now: NowOption = None,
    via: TransportChoice = TransportChoice(),
    wait: WaitOption = 10.0,
    db: DbOption = None,
    actions: ActionsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mail a new certificate (new number and code) made from today's data, after a name
    correction say; the old one is then superseded by it. Exit 3 when it was not accepted."""
    from certify.register.reissue import reissue as reissue_certificate
    from certify.store.lock import run_lock

    with errors():
        if not reason.strip():
            raise UsageError(_("--reason is empty: say why, for the certificate's history"))
        config = config_from(actions)
        moment = parse_now(now, config.tz)
        path = db_path(db)
        if dry_run:
            with Store.open_readonly(path) as store:
                entry, outcome = reissue_certificate(
                    store, config, reference, reason.strip(), moment, None, warn
                )
        else:
            chosen = via.pick(config)
            with run_lock(path, wait), Store.open(path, create=False) as store:
                entry, outcome = reissue_certificate(
                    store, config, reference, reason.strip(), moment, chosen, warn
                )
    if as_json:
        emit_json({"replaces": entry.number, **outcome.as_json()})
    else:
        said = (
            _("re-issue of {number} to {name} <{email}>")
            if dry_run
            else _("re-issue of {number} as {new} to {name} <{email}>")
        ).format(
            number=entry.number,
            new=outcome.certificate_number,
            name=outcome.name,
            email=outcome.email,
        )
        plain(
            f"{state_word(outcome.state)}: {said}" + (f": {outcome.error}" if outcome.error else "")
        )
    if outcome.state not in ("sent", "would send"):
        raise typer.Exit(EXIT_NOT_ACCEPTED)
