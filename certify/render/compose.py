"""Rendering one delivery's message from the compiled templates; no I/O.

A failure to render is sorted by whose fault it is: a template that fails for this
participant (an undefined variable, a filter that raises, a missing image) is a
configuration problem, located at its file and line (`TemplateProblem`); an address or
a name that cannot be used is a fault of one person's data (`AddressError`,
`MissingGlyphs`), which fails that one delivery only.
"""

from __future__ import annotations

import dataclasses
import re
import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certify.config import Action
from certify.errors import MissingGlyphs, did_you_mean
from certify.locale import _
from certify.render.checks import jinja_words
from certify.render.message import (
    AddressError,
    Attachment,
    Mail,
    build_message,
    one_line,
    parse_address_list,
)
from certify.render.templates import Templates

if TYPE_CHECKING:
    from certify.register.signing import Signing

__all__ = ["AddressError", "MissingGlyphs", "TemplateProblem", "render_message", "with_columns"]


class TemplateProblem(Exception):
    """A template or layout that cannot be rendered: a configuration problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _located(
    templates: Templates, exc: BaseException, fallback: str, context: dict[str, Any]
) -> TemplateProblem:
    """The file and line of the template frame an error was raised in, with its message (an
    `extra` column the export lacks said with the columns there are)."""
    where = fallback
    for frame, line in traceback.walk_tb(exc.__traceback__):
        origin = templates.origins.get(frame.f_code.co_filename)
        if origin is not None:
            file, offset = origin
            where = f"{file}:{line + offset}"
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    explained = with_columns(f"{where}: {message}", context)
    if explained == f"{where}: {message}":  # not an extra column: Jinja's words, translated
        explained = f"{where}: {jinja_words(message)}"
    return TemplateProblem([explained])


_NO_ATTRIBUTE = re.compile(
    r"^(?P<place>(?P<file>.+):(?P<line>\d+)): 'dict object' has no attribute '(?P<key>[^']+)'$"
)
# where each kind of `extra` comes from: the columns of these files beyond their own
_EXTRA_FILES = {"person": "persons.csv", "course": "courses.csv", "enrollment": "enrollments.csv"}


def with_columns(problem: str, context: dict[str, Any]) -> str:
    """A template's `person.extra.werkgever` that this participant's export lacks, said so
    with the extra columns there are (the sample lets any name pass: only data can tell)."""
    match = _NO_ATTRIBUTE.match(problem)
    if match is None:
        return problem
    key = match["key"]
    try:
        lines = Path(match["file"]).read_text(encoding="utf-8").splitlines()
        source = lines[int(match["line"]) - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        source = ""
    written = re.escape(key)
    holders = [
        holder
        for holder in _EXTRA_FILES
        if re.search(rf"\b{holder}\.extra(\.{written}\b|\[\s*['\"]{written}['\"])", source)
    ]
    if len(holders) != 1:
        return problem  # not an extra column, or not one place: no guessing
    holder = holders[0]
    columns = sorted(context.get(holder, {}).get("extra") or {})
    if not columns:
        why = _("{file} has no columns beyond its own").format(file=_EXTRA_FILES[holder])
    elif key.lower() in columns:
        why = _("header names are read in lower case: {name}").format(
            name=f"{holder}.extra.{key.lower()}"
        )
    else:
        why = _("its columns: {columns}").format(columns=", ".join(map(repr, columns)))
        why += did_you_mean(key.lower(), columns)
    said = _("{holder}.extra has no column {key} for this participant ({why})").format(
        holder=holder, key=repr(key), why=why
    )
    return f"{match['place']}: {said}"


def _from_template(templates: Templates, exc: BaseException) -> bool:
    """Was the error raised while a template ran (rather than in certify's own code)?"""
    return any(
        frame.f_code.co_filename in templates.origins
        for frame, _line in traceback.walk_tb(exc.__traceback__)
    )


def render_message(
    templates: Templates,
    action: Action,
    context: dict[str, Any],
    *,
    message_id: str,
    sent_at: datetime,
    signing: Signing | None = None,
) -> Mail:
    """The message of one delivery, attachments included, each PDF signed with `signing`.

    Fills in `action.name` of the context first, so that templates see it merged.
    Raises TemplateProblem, AddressError or MissingGlyphs (see the module's docstring).
    """
    person, course = context["person"], context["course"]
    language = person.get("language")
    template = templates.email_for(action.email_template, language)
    try:
        context["action"]["name"] = templates.render_name(action, context)
        subject = one_line(template.subject.render(context))
        headers = {key: one_line(t.render(context)) for key, t in template.headers.items()}
        text = template.text.render(context).lstrip("\n")
        html = template.html.render(context) if template.html else None
    except Exception as exc:
        if not _from_template(templates, exc):
            raise
        raise _located(templates, exc, str(template.text_file), context) from None
    files = []
    if action.attachments:  # reportlab is loaded only for a run that makes certificates
        from certify.render.layout import attachment_file_name, render_pdf
    for number, attachment in enumerate(action.attachments):
        layout = templates.layout_for(attachment.template, language)
        file = f"{attachment.template}.pdf.yaml"
        try:
            name = templates.attachment_name(action, number, language).render(context)
            data = render_pdf(layout, context)
        except MissingGlyphs:
            raise
        except Exception as exc:
            if _from_template(templates, exc):
                raise _located(templates, exc, file, context) from None
            if isinstance(exc, OSError | ValueError | RuntimeError):
                said = _("the certificate could not be made: {reason}").format(reason=exc)
                raise TemplateProblem([f"{file}: {said}"]) from None
            raise
        if signing is not None:
            data = _signed(signing, data)
        files.append(Attachment(attachment_file_name(name), "application/pdf", data))
    for key in template.from_data & {"reply_to", "cc", "bcc"}:
        _one_address(key, headers.get(key), str(template.text_file))
    mail = build_message(
        sender=headers.get("from") or templates.config.settings.sender,
        to_name=person["full_name"] or "",
        to_email=person["email"],
        subject=subject,
        text=text,
        html=html,
        message_id=message_id,
        sent_at=sent_at,
        reply_to=headers.get("reply_to"),
        cc=headers.get("cc"),
        bcc=headers.get("bcc"),
        certify_headers={
            "X-Certify-Action": action.id,
            "X-Certify-Course": str(course["id"]),
            "X-Certify-Person": str(person["id"]),
        },
        attachments=files,
    )
    return dataclasses.replace(mail, certificate=files[0].data) if files else mail


def _signed(signing: Signing, pdf: bytes) -> bytes:
    """The PDF signed; a key that fails is a configuration problem: the delivery waits."""
    from certify.register.signing import SigningFailed

    try:
        return signing.sign(pdf)
    except SigningFailed as exc:
        raise TemplateProblem([str(exc)]) from None


def _one_address(key: str, value: str | None, file: str) -> None:
    """An address a template builds from data is one address: a list in a data field
    would send the certificate to whoever it names."""
    if not value:
        return
    found = parse_address_list(value)
    if len(found) != 1:
        said = _(
            "{key} {value} reads as {count} addresses; one made from data must be exactly "
            "one address"
        ).format(key=key, value=repr(value), count=len(found))
        raise AddressError(f"{file}: {said}")
