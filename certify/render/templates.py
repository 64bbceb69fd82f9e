"""The templates of one actions.yaml, read and compiled once: e-mails with their front
matter, certificate layouts, action names and attachment names, each with its variants
per language (`NAME.LANG.txt.j2`), merge fields translated and variables checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.dates import format_datetime as babel_datetime
from jinja2 import (
    BaseLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
)
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from certify.config import Action, Config
from certify.errors import LocatedErrors, did_you_mean
from certify.locale import DEFAULT, _, in_language, supported
from certify.render.checks import (
    address_problem,
    check_pattern,
    front_line,
    jinja_words,
    split_front_matter,
)
from certify.render.context import COSTLY
from certify.render.message import one_line
from certify.render.variables import check_variables, names_used

if TYPE_CHECKING:
    from certify.render.layout import CompiledLayout

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
    "Certificaat:Nummer": "certificate.number",
    "Certificaat:Code": "certificate.code",
    "Certificaat:GeldigTot": "certificate.valid_until | date",
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
    "Certificate:Number": "certificate.number",
    "Certificate:Code": "certificate.code",
    "Certificate:ValidUntil": "certificate.valid_until | date",
}
_MERGE = re.compile(r"\[([A-Za-z]+:[A-Za-z-]+)\]")
_VARIANT = re.compile(r"^(?P<name>.+)\.(?P<lang>[A-Za-z]{2,3})$")


def _meant(field: str, fields: list[str]) -> str:
    """`; did you mean '[Persoon:NaamVolledig]'?`: a field the one written begins (Naam is
    more likely NaamVolledig than Voornaam), else the closest."""
    stem = field[:-1].casefold()
    begun = [known for known in fields if known.casefold().startswith(stem)]
    return did_you_mean(begun[0], begun) if begun else did_you_mean(field, fields)


def translate_merge_fields(text: str, file: str, line_offset: int = 0) -> tuple[str, list[str]]:
    """Replace `[Opleiding:Naam]`-style fields with Jinja; unknown fields are problems."""
    problems: list[str] = []

    def replace(match: re.Match[str]) -> str:
        expression = MERGE_FIELDS.get(match.group(1))
        if expression is None:
            line = line_offset + text.count("\n", 0, match.start()) + 1
            fields = [f"[{name}]" for name in MERGE_FIELDS]
            field = f"[{match.group(1)}]"
            # the likely meant field first: the list of known ones is long
            said = _("unknown merge field {field}{suggestion} (known: {known})").format(
                field=field, suggestion=_meant(field, fields), known=", ".join(fields)
            )
            problems.append(f"{file}:{line}: {said}")
            return match.group(0)
        return "{{ " + expression + " }}"

    return _MERGE.sub(replace, text), problems


@lru_cache(maxsize=1024)
def known_locale(language: str | None) -> str | None:
    """The Babel locale of a language code (`en-GB` → `en_GB`), or None when it is none."""
    if not language:
        return None
    try:
        return str(Locale.parse(language.strip().replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError):
        return None


def primary_subtag(language: str | None) -> str | None:
    """`en-GB` → `en`: the part of a language that chooses a template variant."""
    locale = known_locale(language)
    return locale.split("_", 1)[0].lower() if locale else None


@dataclass
class EmailTemplate:
    name: str
    language: str | None  # None: the default, NAME.txt.j2
    text_file: Path
    html_file: Path | None
    subject: Template
    headers: dict[str, Template]
    text: Template
    html: Template | None
    # headers whose value comes from data: an address there must be exactly one
    from_data: frozenset[str] = frozenset()


class _SourceLoader(BaseLoader):
    """Serves preprocessed template sources under their names, for located errors."""

    def __init__(self) -> None:
        self.sources: dict[str, str] = {}

    def get_source(
        self, environment: Any, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if template not in self.sources:
            raise TemplateNotFound(template)
        return self.sources[template], template, lambda: True


def make_environment(default_locale: str, tz: tzinfo) -> SandboxedEnvironment:
    """Strict, sandboxed Jinja2 with the `date` filter in the person's language."""
    loader = _SourceLoader()
    # immutable: a template reads the data it is given and cannot change it for the next one
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        keep_trailing_newline=True,
    )
    fallback = known_locale(default_locale) or "en"

    @pass_context
    def date_filter(context: Context, value: Any, pattern: str = "d MMMM yyyy") -> str:
        # a time of day is refused only for a value that is a date alone
        check_pattern(pattern, isinstance(value, date) and not isinstance(value, datetime))
        if value is None or value == "":
            return ""
        person = context.get("person")
        language = person.get("language") if isinstance(person, Mapping) else None
        # one person's odd language never stops a run: it gets the default format
        locale = known_locale(language) or fallback
        if isinstance(value, datetime):
            return str(babel_datetime(value.astimezone(tz), pattern, locale=locale))
        if isinstance(value, date):
            return str(format_date(value, pattern, locale=locale))
        return str(value)

    env.filters["date"] = date_filter
    return env


class Templates:
    """The e-mail templates and layouts of one actions.yaml, compiled once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = make_environment(config.settings.locale, config.tz)
        self.loader: _SourceLoader = self.env.loader  # type: ignore[assignment]
        # compiled name → (file, line offset): where a runtime error in it comes from
        self.origins: dict[str, tuple[str, int]] = {}
        self.emails: dict[str, dict[str | None, EmailTemplate]] = {}
        self.layouts: dict[str, dict[str | None, CompiledLayout]] = {}
        self.action_names: dict[str, Template] = {}
        self.attachment_names: dict[tuple[str, int], Template] = {}
        self._default_names: dict[str, Template] = {}  # per language, made when first used
        self.problems: list[str] = []
        self.used: frozenset[str] = frozenset()  # every name the templates use
        for index, action in enumerate(config.actions):
            self._load_action(index, action)

    @property
    def needs(self) -> frozenset[str]:
        """Which costly parts of the context the templates use (`context.COSTLY`)."""
        return COSTLY if "*" in self.used else COSTLY & self.used

    @classmethod
    def checked(cls, config: Config) -> Templates:
        """The templates, or every problem in them at once (they are needed to send)."""
        templates = cls(config)
        if templates.problems:
            raise LocatedErrors("templates", templates.problems, hint=_("run certify validate"))
        return templates

    # -- choosing ---------------------------------------------------------------------------

    def email_for(self, name: str, language: str | None) -> EmailTemplate:
        """The variant of an e-mail for a person's language, else the default."""
        variants = self.emails[name]
        return variants.get(primary_subtag(language)) or variants[None]

    def layout_for(self, name: str, language: str | None) -> CompiledLayout:
        """The variant of a certificate layout for a person's language, else the default."""
        variants = self.layouts[name]
        return variants.get(primary_subtag(language)) or variants[None]

    def render_name(self, action: Action, context: Mapping[str, Any]) -> str:
        """The action's name with its merge fields filled in for one participant."""
        template = self.action_names.get(action.id)
        return one_line(template.render(context)) if template else action.name

    # -- loading ----------------------------------------------------------------------------

    def _compile(self, name: str, source: str, file: str, line: int = 0) -> Template | None:
        self.loader.sources[name] = source
        self.origins[name] = (file, line)
        try:
            template = self.env.get_template(name)
        except TemplateSyntaxError as exc:
            said = jinja_words(exc.message or str(exc))
            self.problems.append(f"{file}:{(exc.lineno or 1) + line}: {said}")
            return None
        self.problems.extend(check_variables(self.env, source, file, line, self.env.globals))
        self.used |= names_used(self.env, source)
        return template

    def attachment_name(self, action: Action, number: int, language: str | None) -> Template:
        """Its `filename:`, else the default in the person's language (else actions.yaml's)."""
        written = self.attachment_names[(action.id, number)]
        if "filename" in action.attachments[number].model_fields_set:
            return written
        lang = supported(language or self.config.settings.locale) or DEFAULT
        if lang not in self._default_names:
            text = in_language(lang, action.attachments[number].filename)
            source = translate_merge_fields(text, "actions.yaml")[0]
            found = self._compile(f"attachment:default:{lang}", source, "actions.yaml")
            self._default_names[lang] = found or written
        return self._default_names[lang]

    def _compile_field(self, name: str, text: str, where: str) -> Template | None:
        """A one-line template written in actions.yaml; `where` is its file:line:column."""
        file = where.rsplit(":", 2)[0]
        source, problems = translate_merge_fields(text, file)
        self.problems.extend(f"{where}: {problem.split(': ', 1)[1]}" for problem in problems)
        return self._compile(name, source, file)

    def _variants(self, name: str, suffix: str) -> dict[str | None, Path]:
        """NAME + suffix, and every NAME.LANG + suffix next to it."""
        directory = self.config.templates_dir
        found: dict[str | None, Path] = {}
        default = directory / f"{name}{suffix}"
        if default.is_file():
            found[None] = default
        for path in sorted(directory.glob(f"{name}.*{suffix}")):
            match = _VARIANT.match(path.name.removesuffix(suffix))
            if match is None or match.group("name") != name:
                continue
            language = match.group("lang").lower()
            if known_locale(language) is None:
                said = _(
                    "{language} is not a language code (name variants like {english} or {german})"
                ).format(
                    language=repr(match.group("lang")),
                    english=f"{name}.en{suffix}",
                    german=f"{name}.de{suffix}",
                )
                self.problems.append(f"{path}: {said}")
                continue
            found[language] = path
        return found

    def _load_action(self, index: int, action: Action) -> None:
        if "{" in action.name or "[" in action.name:  # else used as it is written
            compiled = self._compile_field(
                f"action:{action.id}", action.name, self.config.where("actions", index, "name")
            )
            if compiled is not None:
                self.action_names[action.id] = compiled
        if action.email_template not in self.emails:
            self._load_emails(action.email_template, index)
        for number, attachment in enumerate(action.attachments):
            where = self.config.where("actions", index, "attachments", number, "filename")
            compiled = self._compile_field(
                f"attachment:{action.id}:{number}", attachment.filename, where
            )
            if compiled is not None:
                self.attachment_names[(action.id, number)] = compiled
            if attachment.template not in self.layouts:
                self._load_layouts(attachment.template, index, number)

    def _load_layouts(self, name: str, index: int, number: int) -> None:
        variants = self._variants(name, ".pdf.yaml")
        if None not in variants:
            where = self.config.where("actions", index, "attachments", number, "template")
            expected = self.config.templates_dir / f"{name}.pdf.yaml"
            said = _("not found (a certificate layout, NAME.pdf.yaml)")
            self.problems.append(f"{where}: {expected}: {said}")
            return
        from certify.render.layout import load_layout

        layouts: dict[str | None, CompiledLayout] = {}
        for language, path in variants.items():
            layout, problems = load_layout(path, self._compile, translate_merge_fields)
            self.problems.extend(problems)
            if layout is not None:
                layouts[language] = layout
                if layout.layout.qr and not self.config.settings.certificates.verify_url:
                    said = _(
                        "a QR code needs certificates.verify_url in actions.yaml "
                        '(verify_url: "https://example.org/certificaat/{{code}}")'
                    ).format()
                    self.problems.append(f"{path}: qr: {said}")
        if None in layouts:
            self.layouts[name] = layouts

    def _load_emails(self, name: str, index: int) -> None:
        texts = self._variants(name, ".txt.j2")
        htmls = self._variants(name, ".html.j2")
        if None not in texts:
            expected = self.config.templates_dir / f"{name}.txt.j2"
            where = self.config.where("actions", index, "email_template")
            said = _("template {name} not found: expected {expected}")
            self.problems.append(f"{where}: " + said.format(name=repr(name), expected=expected))
            return
        for language, html_file in htmls.items():
            if language not in texts:
                said = _(
                    "there is no {text} next to it (the text e-mail carries the subject; add "
                    "it, or remove this file)"
                ).format(text=f"{name}.{language}.txt.j2")
                self.problems.append(f"{html_file}: {said}")
        templates: dict[str | None, EmailTemplate] = {}
        for language, text_file in texts.items():
            template = self._load_email(name, language, text_file, htmls.get(language))
            if template is not None:
                templates[language] = template
        if None in templates:
            self.emails[name] = templates

    def _load_email(
        self, name: str, language: str | None, text_file: Path, html_file: Path | None
    ) -> EmailTemplate | None:
        file = str(text_file)
        stem = f"{name}.{language}" if language else name
        raw = text_file.read_text(encoding="utf-8-sig")
        front, body, problems = split_front_matter(raw, file)
        self.problems.extend(problems)
        if problems:
            return None
        for key in front:
            if key not in FRONT_MATTER_KEYS:
                said = _("unknown front matter key {key} ({known})").format(
                    key=repr(key), known=", ".join(FRONT_MATTER_KEYS)
                )
                self.problems.append(f"{file}:{front_line(raw, key)}: {said}")
        if "subject" not in front:
            self.problems.append(f"{file}:2: " + _("front matter needs a 'subject:'"))
            return None
        headers: dict[str, Template] = {}
        from_data: set[str] = set()
        compiled_ok = True
        for key in FRONT_MATTER_KEYS:
            if key not in front:
                continue
            line = front_line(raw, key)
            source, merge_problems = translate_merge_fields(str(front[key]), file, line - 1)
            self.problems.extend(merge_problems)
            if key != "subject" and source == str(front[key]) and "{" not in source:
                # a fixed address is the setup's, not a person's: wrong, it would fail
                # every delivery one by one, so it is found here
                problem = address_problem(key, source)
                if problem:
                    self.problems.append(f"{file}:{line}: {problem}")
            elif key != "subject":
                from_data.add(key)
            compiled = self._compile(f"{stem}:{key}", source, file, line - 1)
            if compiled is None:
                compiled_ok = False
            else:
                headers[key] = compiled
        body_source, merge_problems = translate_merge_fields(body, file)
        self.problems.extend(merge_problems)
        text = self._compile(f"{stem}.txt.j2", body_source, file)
        html = None
        if html_file is not None:
            html_source, merge_problems = translate_merge_fields(
                html_file.read_text(encoding="utf-8-sig"), str(html_file)
            )
            self.problems.extend(merge_problems)
            html = self._compile(f"{stem}.html.j2", html_source, str(html_file))
            compiled_ok = compiled_ok and html is not None
        if text is None or not compiled_ok:
            return None
        subject = headers.pop("subject")
        return EmailTemplate(
            name=name,
            language=language,
            text_file=text_file,
            html_file=html_file,
            subject=subject,
            headers=headers,
            text=text,
            html=html,
            from_data=frozenset(from_data),
        )
