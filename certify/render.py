"""E-mail templates: merge fields, front matter, a strict sandboxed Jinja2, and EmailMessage.

Rendering returns a message and does no I/O; templates are read once when loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, getaddresses
from pathlib import Path
from typing import Any

import yaml
from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from jinja2 import (
    BaseLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    pass_context,
)
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from certify.certificates import CompiledLayout, attachment_file_name, load_layout, render_pdf
from certify.config import Action, Config
from certify.context import check_variables
from certify.errors import LocatedErrors

FRONT_MATTER_KEYS = ("subject", "from", "reply_to", "cc", "bcc")

# Merge fields of the previous system → Jinja expressions. Dutch and English names.
MERGE_FIELDS: dict[str, str] = {
    "Opleiding:Naam": "course.name",
    "Opleiding:Code": "course.id",
    "Opleiding:Status": "course.status",
    "Opleiding:Locatie": "course.location",
    "Opleiding:Startdatum": "course.start | date",
    "Opleiding:Einddatum": "course.end | date",
    "Persoon:NaamVolledig": "person.full_name",
    "Persoon:Voornaam": "person.first_name",
    "Persoon:Tussenvoegsel": "person.infix",
    "Persoon:Achternaam": "person.last_name",
    "Persoon:Email": "person.email",
    "Persoon:E-mail": "person.email",
    "Certificaat:Nummer": "delivery.certificate_number",
    "Course:Name": "course.name",
    "Course:Code": "course.id",
    "Course:Status": "course.status",
    "Course:Location": "course.location",
    "Course:StartDate": "course.start | date",
    "Course:EndDate": "course.end | date",
    "Person:FullName": "person.full_name",
    "Person:FirstName": "person.first_name",
    "Person:Infix": "person.infix",
    "Person:LastName": "person.last_name",
    "Person:Email": "person.email",
    "Certificate:Number": "delivery.certificate_number",
}
_MERGE = re.compile(r"\[([A-Za-z]+:[A-Za-z-]+)\]")


class TemplateProblem(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def translate_merge_fields(text: str, file: str, line_offset: int = 0) -> tuple[str, list[str]]:
    """Replace `[Opleiding:Naam]`-style fields with Jinja; unknown fields are problems."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        expression = MERGE_FIELDS.get(match.group(1))
        if expression is None:
            line = line_offset + text.count("\n", 0, match.start()) + 1
            known = ", ".join(f"[{name}]" for name in MERGE_FIELDS)
            problems.append(
                f"{file}:{line}: unknown merge field [{match.group(1)}] (known: {known})"
            )
            return match.group(0)
        return "{{ " + expression + " }}"

    return _MERGE.sub(replace, text), problems


@dataclass
class EmailTemplate:
    name: str
    text_file: Path
    html_file: Path | None
    subject: Template
    headers: dict[str, Template]
    text: Template
    html: Template | None
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)  # what → (file, line)


class _SourceLoader(BaseLoader):
    """Serves preprocessed template sources under their file names, for located errors."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}

    def get_source(
        self, environment: Any, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if template not in self.sources:
            raise TemplateNotFound(template)
        return self.sources[template], template, lambda: True


def make_environment(default_locale: str, tz: tzinfo) -> SandboxedEnvironment:
    loader = _SourceLoader()
    env = SandboxedEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        keep_trailing_newline=True,
    )

    @pass_context
    def date_filter(context: Context, value: Any, pattern: str = "d MMMM yyyy") -> str:
        if value is None or value == "":
            return ""
        person = context.get("person")
        language = getattr(person, "language", None) or (
            person.get("language") if isinstance(person, Mapping) else None
        )
        locale = (language or default_locale).replace("-", "_")
        try:
            if isinstance(value, datetime):
                return babel_datetime(value.astimezone(tz), pattern, locale=locale)
            if isinstance(value, date):
                return format_date(value, pattern, locale=locale)
        except (ValueError, LookupError):
            return format_date(value, pattern, locale=default_locale)
        return str(value)

    env.filters["date"] = date_filter
    return env


def _split_front_matter(raw: str, file: str) -> tuple[dict[str, Any], int, str, list[str]]:
    """Front matter mapping, its first line, and the body with the front matter blanked.

    The front matter becomes a Jinja comment of the same number of lines, so that the
    line numbers Jinja reports are the file's.
    """
    lines = raw.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return (
            {},
            0,
            raw,
            [f"{file}:1: missing front matter: start with '---', a 'subject:' line, '---'"],
        )
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = "".join(lines[1:index])
            blank = "{#" + "\n" * (index + 1) + "#}"
            body = blank + "".join(lines[index + 1 :])
            try:
                data = yaml.safe_load(front) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = 2 + (mark.line if mark else 0)
                return {}, 2, body, [f"{file}:{line}: front matter is not valid YAML"]
            if not isinstance(data, dict):
                return {}, 2, body, [f"{file}:2: front matter must be 'key: value' lines"]
            return data, 2, body, []
    return {}, 0, raw, [f"{file}:1: front matter is not closed by a '---' line"]


def _front_line(raw: str, key: str) -> int:
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.lstrip().startswith(f"{key}:"):
            return number
    return 1


class Templates:
    """The e-mail templates of one actions.yaml, compiled once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = make_environment(config.settings.locale, config.tz)
        self.loader: _SourceLoader = self.env.loader  # type: ignore[assignment]
        self.by_name: dict[str, EmailTemplate] = {}
        self.action_names: dict[str, Template] = {}
        self.layouts: dict[str, CompiledLayout] = {}
        self.attachment_names: dict[tuple[str, int], Template] = {}
        self.problems: list[str] = []
        for index, action in enumerate(config.actions):
            self._load_action(index, action)

    @classmethod
    def checked(cls, config: Config) -> Templates:
        """The templates, or every problem in them at once (they are needed to send)."""
        templates = cls(config)
        if templates.problems:
            raise LocatedErrors("templates", templates.problems, hint="run certify validate")
        return templates

    def _compile(self, name: str, source: str, file: str, line: int = 0) -> Template | None:
        self.loader.sources[name] = source
        try:
            template = self.env.get_template(name)
        except TemplateSyntaxError as exc:
            self.problems.append(f"{file}:{(exc.lineno or 1) + line}: {exc.message}")
            return None
        self.problems.extend(check_variables(self.env, source, file, line, self.env.globals))
        return template

    def _load_action(self, index: int, action: Action) -> None:
        where = self.config.where("actions", index, "name")
        name_source, problems = translate_merge_fields(action.name, where.rsplit(":", 2)[0])
        self.problems.extend(f"{where}: {p.split(': ', 1)[1]}" for p in problems)
        compiled = self._compile(f"action:{action.id}", name_source, where.rsplit(":", 2)[0])
        if compiled is not None:
            self.action_names[action.id] = compiled
        if action.email_template not in self.by_name:
            template = self._load_template(action.email_template, index)
            if template is not None:
                self.by_name[action.email_template] = template
        for number, attachment in enumerate(action.attachments):
            where = self.config.where("actions", index, "attachments", number, "filename")
            file = where.rsplit(":", 2)[0]
            source, merge_problems = translate_merge_fields(attachment.filename, file)
            self.problems.extend(f"{where}: {p.split(': ', 1)[1]}" for p in merge_problems)
            compiled = self._compile(f"attachment:{action.id}:{number}", source, file)
            if compiled is not None:
                self.attachment_names[(action.id, number)] = compiled
            if attachment.template not in self.layouts:
                path = self.config.templates_dir / f"{attachment.template}.pdf.yaml"
                layout, problems = load_layout(path, self._compile, translate_merge_fields)
                self.problems.extend(problems)
                if layout is not None:
                    self.layouts[attachment.template] = layout

    def _load_template(self, name: str, index: int) -> EmailTemplate | None:
        directory = self.config.templates_dir
        text_file = directory / f"{name}.txt.j2"
        html_file = directory / f"{name}.html.j2"
        if not text_file.is_file():
            self.problems.append(
                f"{self.config.where('actions', index, 'email_template')}: template {name!r} not found: "
                f"expected {text_file}"
            )
            return None
        file = str(text_file)
        raw = text_file.read_text(encoding="utf-8-sig")
        front, _, body, problems = _split_front_matter(raw, file)
        self.problems.extend(problems)
        if problems:
            return None
        for key in front:
            if key not in FRONT_MATTER_KEYS:
                self.problems.append(
                    f"{file}:{_front_line(raw, key)}: unknown front matter key {key!r} "
                    f"({', '.join(FRONT_MATTER_KEYS)})"
                )
        if "subject" not in front:
            self.problems.append(f"{file}:2: front matter needs a 'subject:'")
            return None
        headers: dict[str, Template] = {}
        compiled_ok = True
        for key in FRONT_MATTER_KEYS:
            if key not in front:
                continue
            line = _front_line(raw, key)
            source, merge_problems = translate_merge_fields(str(front[key]), file, line - 1)
            self.problems.extend(merge_problems)
            compiled = self._compile(f"{name}:{key}", source, file, line - 1)
            if compiled is None:
                compiled_ok = False
            else:
                headers[key] = compiled
        body_source, merge_problems = translate_merge_fields(body, file)
        self.problems.extend(merge_problems)
        text = self._compile(f"{name}.txt.j2", body_source, file)
        html = None
        if html_file.is_file():
            html_source, merge_problems = translate_merge_fields(
                html_file.read_text(encoding="utf-8-sig"), str(html_file)
            )
            self.problems.extend(merge_problems)
            html = self._compile(f"{name}.html.j2", html_source, str(html_file))
            if html is None:
                compiled_ok = False
        if text is None or not compiled_ok:
            return None
        subject = headers.pop("subject")
        return EmailTemplate(
            name, text_file, html_file if html else None, subject, headers, text, html
        )

    def render_name(self, action: Action, context: Mapping[str, Any]) -> str:
        """The action's name with its merge fields filled in for one participant."""
        template = self.action_names.get(action.id)
        return _one_line(template.render(context)) if template else action.name

    def render(
        self,
        action: Action,
        context: dict[str, Any],
        *,
        message_id: str,
        sent_at: datetime,
    ) -> EmailMessage:
        """Build the message for one delivery. Raises TemplateProblem on a rendering error.

        Fills in `action.name` of the context first, so that templates see it merged.
        """
        template = self.by_name[action.email_template]
        try:
            context["action"]["name"] = self.render_name(action, context)
            subject = _one_line(template.subject.render(context))
            extra_headers = {
                key: _one_line(t.render(context)) for key, t in template.headers.items()
            }
            text = template.text.render(context).lstrip("\n")
            html = template.html.render(context) if template.html else None
        except UndefinedError as exc:
            raise TemplateProblem([f"{template.text_file}: {exc.message}"]) from None
        person = context["person"]
        course = context["course"]
        message = build_message(
            sender=extra_headers.get("from") or self.config.settings.sender,
            to_name=_get(person, "full_name") or "",
            to_email=_get(person, "email"),
            subject=subject,
            text=text,
            html=html,
            message_id=message_id,
            sent_at=sent_at,
            reply_to=extra_headers.get("reply_to"),
            cc=extra_headers.get("cc"),
            bcc=extra_headers.get("bcc"),
            certify_headers={
                "X-Certify-Action": action.id,
                "X-Certify-Course": str(_get(course, "id")),
                "X-Certify-Person": str(_get(person, "id")),
            },
        )
        for number, attachment in enumerate(action.attachments):
            layout = self.layouts[attachment.template]
            try:
                data = render_pdf(layout, context)
                name = self.attachment_names[(action.id, number)].render(context)
            except UndefinedError as exc:
                raise TemplateProblem([f"{attachment.template}.pdf.yaml: {exc.message}"]) from None
            except (OSError, ValueError, RuntimeError) as exc:
                raise TemplateProblem(
                    [f"{attachment.template}.pdf.yaml: the certificate could not be made: {exc}"]
                ) from None
            message.add_attachment(
                data, maintype="application", subtype="pdf", filename=attachment_file_name(name)
            )
        return message


def _get(value: Any, key: str) -> Any:
    return value[key] if isinstance(value, Mapping) else getattr(value, key)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _one_line(value: str) -> str:
    """A header value never carries CR, LF or other control characters: they become a space."""
    return re.sub(r"\s+", " ", _CONTROL.sub(" ", value)).strip()


class AddressError(ValueError):
    pass


def make_address(display_name: str, email: str) -> Address:
    """An Address with a safe display name and a punycoded domain."""
    email = _one_line(email)
    if email.count("@") < 1 or " " in email:
        raise AddressError(f"not an e-mail address: {email!r}")
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        raise AddressError(f"not an e-mail address: {email!r}")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise AddressError(f"bad domain in {email!r}: {exc}") from None
    return Address(display_name=_one_line(display_name), username=local, domain=domain)


def parse_address_list(value: str) -> list[Address]:
    return [make_address(name, email) for name, email in getaddresses([_one_line(value)]) if email]


def build_message(
    *,
    sender: str,
    to_name: str,
    to_email: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    sent_at: datetime,
    certify_headers: Mapping[str, str],
    reply_to: str | None = None,
    cc: str | None = None,
    bcc: str | None = None,
) -> EmailMessage:
    to = make_address(to_name, to_email)
    needs_utf8 = not to.username.isascii()
    message = EmailMessage(policy=SMTPUTF8 if needs_utf8 else SMTP)
    message["From"] = parse_address_list(sender)
    message["To"] = to
    for header, value in (("Reply-To", reply_to), ("Cc", cc), ("Bcc", bcc)):
        if value:
            message[header] = parse_address_list(value)
    message["Subject"] = _one_line(subject)
    message["Date"] = format_datetime(sent_at)  # the caller passes the run's moment in local time
    message["Message-ID"] = _one_line(message_id)
    for header, value in certify_headers.items():
        message[header] = _one_line(value)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
