"""actions.yaml: typed models and loading; every problem reported as file:line:column."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from certify import locale
from certify.clock import DateFormatError, localize, machine_zone, parse_written, zone
from certify.decide.timings import (
    DURATION_SCHEMA,
    VALIDITY_SCHEMA,
    Duration,
    Timing,
    Validity,
    anchor_conditions,
    parse_duration,
    parse_validity,
    renewal_conditions,
    renewal_problems,
)
from certify.deliver.settings import Delivery, Smtp
from certify.errors import CertifyError, ConfigError, UsageError, did_you_mean, os_reason
from certify.ingest.settings import ImportSettings
from certify.locale import N_, _
from certify.register.settings import Certificates
from certify.store.settings import Retention
from certify.yamlfile import Positions, Strict, parse_yaml, validation_problems, where

DEFAULT_ACTIONS = "actions.yaml"

ConditionValue = Literal["yes", "no", "not_met"]

# The previous system's Dutch status words, as the same statuses as their English names.
STATUS_SYNONYMS = {
    "te starten": "planned",
    "definitief": "final",
    "afgerond": "completed",
    "geannuleerd": "cancelled",
}


@lru_cache(maxsize=4096)
def status_key(status: str) -> str:
    """A course status as compared: trimmed, case and spacing ignored, Dutch as English.

    `Definitief`, ` FINAL ` and `final` are one status; so are `te starten` and `planned`.
    """
    folded = " ".join(status.split()).casefold()
    return STATUS_SYNONYMS.get(folded, folded)


@lru_cache(maxsize=4096)
def type_key(course_type: str) -> str:
    """A course type as compared: trimmed, case ignored (`vca ` is `VCA`)."""
    return course_type.strip().casefold()


# the Dutch words an administrator of the previous system writes, as the exports do
_DUTCH_CONDITIONS = {"ja": "yes", "nee": "no", "niet_behaald": "not_met", "niet behaald": "not_met"}


def _yes_no(value: Any) -> Any:
    # YAML 1.1 writers expect `yes`/`no`/`true`/`false` to mean the words of the request.
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, str):
        return _DUTCH_CONDITIONS.get(value, value)
    return value


def _one_or_many(value: Any, what: str, *, numbers: bool = False) -> Any:
    """A word or a list of words as a list; blank words and an empty list are mistakes."""
    if value is None:
        return None
    if isinstance(value, dict):
        raise ValueError(_("{what} is a word or a list of words, not a mapping").format(what=what))
    items = value if isinstance(value, list) else [value]
    if numbers:  # course type codes such as 101 reach us as YAML numbers
        items = [str(i) if isinstance(i, int) and not isinstance(i, bool) else i for i in items]
    if not items:
        raise ValueError(_("{what} is an empty list; leave it out to mean any").format(what=what))
    for item in items:
        if isinstance(item, str) and not item.strip():
            raise ValueError(_("{what} holds an empty value").format(what=what))
    return [item.strip() if isinstance(item, str) else item for item in items]


_ONE_OR_MANY_SCHEMA = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        {"type": "null"},
    ]
}
_CONDITION_SCHEMA = {
    "anyOf": [
        {"enum": ["yes", "no", "not_met", "ja", "nee", "niet_behaald", "niet behaald"]},
        {"type": "boolean"},
    ],
    "description": "yes = must be met | no = not checked | not_met = must not be met "
    "(true/false mean yes/no; ja, nee and niet_behaald are the same)",
}
# the forms `clock.parse_written` reads: ISO 8601, or day first; an offset only after ISO
_DATE_TEXT = (
    r"^\s*(\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}([T ]+\d{1,2}:\d{2}(:\d{2})?)?)\s*$"
)


class Conditions(Strict):
    course_status: Annotated[list[str] | None, WithJsonSchema(_ONE_OR_MANY_SCHEMA)] = Field(
        None,
        description="a status or a list; omitted = any. Case and spacing do not matter, and "
        "te starten, definitief, afgerond, geannuleerd are planned, final, completed, cancelled",
    )
    attendance: Annotated[ConditionValue, WithJsonSchema(_CONDITION_SCHEMA)] = "no"
    pass_: Annotated[ConditionValue, WithJsonSchema(_CONDITION_SCHEMA)] = Field("no", alias="pass")

    @field_validator("course_status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> Any:
        return _one_or_many(value, "course_status")

    @property
    def status_keys(self) -> frozenset[str] | None:
        """The wanted statuses as compared (`status_key`); None: any status."""
        if self.course_status is None:
            return None
        return frozenset(status_key(status) for status in self.course_status)

    @field_validator("attendance", "pass_", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        return _yes_no(value)


class Attachment(Strict):
    kind: Literal["certificate_pdf"] = "certificate_pdf"
    template: str = Field(description="the layout templates/NAME.pdf.yaml")
    filename: str = Field(
        N_("Certificate - [Course:Name] - [Person:FullName]"),  # in the person's language
        description="the file name a participant keeps, without .pdf; merge fields allowed",
    )


class Action(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="stable key; never reuse")
    name: str
    execution: Literal["automatic", "manual"] = "automatic"
    data_group: Literal["course_participant"] = "course_participant"
    process: Literal["send_email"] = "send_email"
    event: Literal["participant_added"] = "participant_added"
    email_template: str
    course_types: Annotated[list[str] | None, WithJsonSchema(_ONE_OR_MANY_SCHEMA)] = Field(
        None,
        description="the course types this action acts on (a type or a list, case does not "
        "matter); omitted = every course, typed or not",
    )
    timing: Timing
    since: Annotated[
        datetime | date | None,
        WithJsonSchema({"anyOf": [{"type": "string", "pattern": _DATE_TEXT}, {"type": "null"}]}),
    ] = Field(
        None,
        description="first due moment this action covers: a date (local midnight) or a local "
        "date and time in the configured timezone; an offset (Z, +01:00) is kept",
    )
    expire_after: Annotated[Duration | None, WithJsonSchema(DURATION_SCHEMA)] = Field(
        None, description="skip (state expired) when this late: '60 days', '2 weeks'"
    )
    validity: Annotated[Validity | None, WithJsonSchema(VALIDITY_SCHEMA)] = Field(
        None,
        description="how long a certificate is valid after the course's end date: '1 year', "
        "'6 months', '30 days' (valid through the day that gives)",
    )
    conditions: Conditions = Field(default_factory=Conditions)
    attachments: list[Attachment] = Field(default_factory=list)

    @field_validator("course_types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        return _one_or_many(value, "course_types", numbers=True)

    @field_validator("expire_after", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @field_validator("validity", mode="before")
    @classmethod
    def _validity(cls, value: Any) -> Any:
        return None if value is None else parse_validity(value)

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: Any) -> Any:
        # The wall clock as written: the timezone of actions.yaml says what it means, for
        # every form (with or without seconds, ISO or day-first); only a written offset
        # fixes the moment by itself.
        if isinstance(value, str):
            try:
                return parse_written(value)
            except DateFormatError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def type_keys(self) -> frozenset[str] | None:
        """The linked course types as compared (`type_key`); None: every course."""
        if self.course_types is None:
            return None
        return frozenset(type_key(course_type) for course_type in self.course_types)

    def links(self, course_type: str | None) -> bool:
        """Does this action act on courses of this type (None: a course without a type)?"""
        keys = self.type_keys
        if keys is None:
            return True
        return course_type is not None and type_key(course_type) in keys

    @model_validator(mode="after")
    def _anchor_needs_yes(self) -> Action:
        problem = renewal_conditions(self.timing, self.conditions) or anchor_conditions(
            self.timing, self.conditions
        )
        if problem:
            raise ValueError(problem)
        return self


class Settings(Strict):
    version: Literal[1] = 1
    timezone: str | None = Field(None, description="IANA zone used to read local times")
    templates_dir: str = "templates"
    sender: str
    attendance_basis: Literal["required_parts", "all_parts"] = "required_parts"
    locale: str = "nl"
    smtp: Smtp = Field(default_factory=Smtp)
    delivery: Delivery = Field(default_factory=Delivery)
    retention: Retention = Field(default_factory=Retention)
    import_: ImportSettings | None = Field(
        None, alias="import", description="how this organisation's exports look (SPEC 9.2)"
    )
    certificates: Certificates = Field(default_factory=Certificates)
    actions: list[Action]

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        from certify.render.addresses import sender_problem

        problem = sender_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(value.strip().replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            raise ValueError(
                _("unknown locale {value} (a language code such as nl, en or de)").format(
                    value=repr(value)
                )
            ) from None
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone(value)
            except DateFormatError as exc:
                raise ValueError(str(exc)) from None
        return value


@dataclass(frozen=True)
class Config:
    """A loaded actions.yaml, with where it came from."""

    path: Path
    settings: Settings
    positions: Positions

    @property
    def tz(self) -> tzinfo:
        """The zone local times are read in: actions.yaml's, else the machine's."""
        return zone(self.settings.timezone) if self.settings.timezone else machine_zone()

    @property
    def templates_dir(self) -> Path:
        """The templates folder, relative to actions.yaml."""
        return (self.path.parent / self.settings.templates_dir).resolve()

    @property
    def actions(self) -> list[Action]:
        """The actions in the order of the file."""
        return list(self.settings.actions)

    def action(self, action_id: str) -> Action:
        """The action with this id; an id given that names none is a usage error naming the
        known ones (the mistake is on the command line, not in the file)."""
        for action in self.settings.actions:
            if action.id == action_id:
                return action
        ids = [a.id for a in self.settings.actions]
        raise UsageError(
            _("no action {action} in {path} (known: {known})").format(
                action=repr(action_id), path=self.path, known=", ".join(ids)
            )
            + did_you_mean(action_id, ids)
        )

    def where(self, *loc: Any) -> str:
        """`file:line:column` of the YAML node at `loc`, or of its nearest parent."""
        return where(str(self.path), self.positions, loc)

    def since_moment(self, action: Action) -> datetime | None:
        """The action's `since` as an aware moment; dates and naive times are local to `tz`."""
        since = action.since
        if since is None:
            return None
        if isinstance(since, datetime):
            return localize(since, self.tz) if since.tzinfo is None else since
        return localize(datetime(since.year, since.month, since.day), self.tz)


SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of actions.yaml, for editors: everything `validate` accepts.

    It uses only keywords that mean the same in draft 7 (what most YAML editors implement)
    and 2020-12, so it checks alike in both.
    """
    generated = Settings.model_json_schema(by_alias=True)
    generated.pop("title", None)
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "certify actions.yaml",
        "description": "Which e-mail certify sends, to whom, when and on which conditions. "
        "Check the file with `certify validate`; this schema is for editors.",
        **generated,
        # keys starting with x- hold what YAML anchors share; certify passes them over
        "patternProperties": {"^x-": {}},
    }


def actions_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The actions.yaml to read: the option, else $CERTIFY_ACTIONS, else ./actions.yaml."""
    return Path(explicit or os.environ.get("CERTIFY_ACTIONS") or DEFAULT_ACTIONS)


def not_a_folder(path: Path) -> None:
    """Refuse a folder given as the actions file (`--actions templates`) in one plain line,
    rather than as a problem found in it."""
    if not path.is_dir():
        return
    inside = path / "actions.yaml"
    raise CertifyError(
        _("{path} is a folder; --actions takes the actions.yaml file").format(path=path),
        hint=f"--actions {inside}"
        if inside.is_file()
        else _("pass the actions.yaml file with --actions, or run where it lives"),
    )


def load(path: Path) -> Config:
    """Load and validate actions.yaml; every problem at once, located, as ConfigError."""
    not_a_folder(path)
    file = str(path)
    locale.fall_back_to(path)  # a file YAML cannot read still names its language
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            file,
            [f"{file}: " + _("not found")],
            hint=_("pass --actions PATH, set CERTIFY_ACTIONS, or run where actions.yaml lives"),
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        said = _("not UTF-8 text (byte {byte})").format(byte=f"0x{exc.object[exc.start]:02x}")
        raise ConfigError(
            file, [f"{file}:{line}: {said}"], hint=_("save actions.yaml as UTF-8")
        ) from None
    except OSError as exc:
        said = _("cannot read it ({reason})").format(reason=os_reason(exc))
        raise ConfigError(file, [f"{file}: {said}"]) from None
    data, positions, problems = parse_yaml(text, file)
    if problems:
        raise ConfigError(file, problems)
    if not isinstance(data, dict):
        said = _("expected a mapping with 'version', 'sender' and 'actions'")
        raise ConfigError(file, [f"{file}:1:1: {said}"])
    # `x-` keys at the top hold what anchors share (`x-common: &common`), as in Compose files
    data = {key: value for key, value in data.items() if not str(key).startswith("x-")}
    if isinstance(data.get("locale"), str):  # the file's own problems read in its language
        locale.configure(data["locale"])
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            file, validation_problems(exc, Settings, file, positions, nouns={"after": "anchor"})
        ) from None
    config = Config(path, settings, positions)
    seen: dict[str, int] = {}
    for index, action in enumerate(settings.actions):
        if action.id in seen:
            said = _(
                "duplicate action id {action} (first at actions[{first}]); ids are the keys "
                "of the delivery log"
            ).format(action=repr(action.id), first=seen[action.id])
            problems.append(f"{config.where('actions', index, 'id')}: {said}")
        seen.setdefault(action.id, index)
    problems += renewal_problems(config.settings.actions, config.where)
    if problems:
        raise ConfigError(file, problems)
    return config


def read_timezone(path: Path) -> tzinfo:
    """The zone the importer reads local times in: actions.yaml's, else the machine's."""
    if not path.exists():
        return machine_zone()
    return load(path).tz


def import_timezone(path: Path, written: str | None = None) -> tzinfo:
    """The zone an import reads local times in: `written` (--timezone), else actions.yaml's.

    Never the machine's: a server in UTC would shift every course by an hour or two, and
    nobody would see it until certificates went out on the wrong day.
    """
    if written is not None:
        try:
            return zone(written)
        except DateFormatError as exc:
            raise UsageError(f"--timezone: {exc}") from None
    if not path.exists():
        raise CertifyError(
            _(
                "no actions.yaml at {path}, so no time zone to read the exports' local times in"
            ).format(path=path),
            hint=_(
                "pass --actions FILE, or --timezone ZONE (such as Europe/Amsterdam); "
                "`certify init` writes an actions.yaml to start from"
            ),
        )
    config = load(path)
    if config.settings.timezone is None:
        raise CertifyError(
            _("{path} sets no timezone, so none to read the exports' local times in").format(
                path=path
            ),
            hint=_("add `timezone: Europe/Amsterdam` (your zone) to it, or pass --timezone ZONE"),
        )
    return config.tz
