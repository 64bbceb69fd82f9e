"""The amounts of time actions.yaml writes: `timing`, `expire_after` and `validity`.

Typed models for config.py; the arithmetic on them lives in rules.py and clock.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import time
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from certify.errors import choice_meant, did_you_mean
from certify.locale import _
from certify.yamlfile import Strict

_UNITS = r"hours?|days?|weeks?|months?|years?"
_CALENDAR = r"days?|weeks?|months?|years?"
DURATION_PATTERN = rf"^\s*(\d+)\s*({_UNITS})\s*$"
VALIDITY_PATTERN = rf"^\s*(\d+)\s*({_CALENDAR})\s*$"
_AMOUNT = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

Unit = Literal["hours", "days", "weeks", "months", "years"]
CalendarUnit = Literal["days", "weeks", "months", "years"]


def _span_schema(pattern: str, units: list[str]) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "pattern": pattern},
            {
                "type": "object",
                "properties": {
                    "amount": {"type": "integer", "minimum": 0},
                    "unit": {"enum": units},
                },
                "required": ["amount", "unit"],
                "additionalProperties": False,
            },
            {"type": "null"},
        ]
    }


DURATION_SCHEMA = _span_schema(DURATION_PATTERN, ["hours", "days", "weeks", "months", "years"])
VALIDITY_SCHEMA = _span_schema(VALIDITY_PATTERN, ["days", "weeks", "months", "years"])


def _written(amount: int, unit: str) -> str:
    """`1 year`, `60 days`: as a person writes it."""
    return f"{amount} {unit.removesuffix('s') if amount == 1 else unit}"


class Duration(Strict):
    amount: int = Field(ge=0)
    unit: Unit

    def __str__(self) -> str:
        return _written(self.amount, self.unit)


class Validity(Strict):
    """How long a certificate is valid, in calendar units (hours make no sense for it)."""

    amount: int = Field(ge=0)
    unit: CalendarUnit

    def __str__(self) -> str:
        return _written(self.amount, self.unit)


def _read_span(value: Any, units: tuple[str, ...], example: str) -> dict[str, Any]:
    """`60 days`, `1 year` or `{amount, unit}` as a mapping for the model to check."""
    if isinstance(value, dict):
        return value
    match = _AMOUNT.match(str(value))
    if match is None:
        raise ValueError(
            _("cannot read {value} as a duration (a whole number and a unit: {example})").format(
                value=repr(value), example=example
            )
        )
    unit = match.group(2).lower()
    unit = unit if unit.endswith("s") else unit + "s"
    if unit not in units:
        raise ValueError(
            _("unknown unit {unit} ({units})").format(
                unit=repr(match.group(2)), units=", ".join(units)
            )
            + choice_meant(match.group(2), units)
        )
    return {"amount": int(match.group(1)), "unit": unit}


def parse_duration(value: Any) -> Duration:
    """`60 days`, `2 weeks`, `1 month`, `1 year` or `{amount, unit}` as a Duration."""
    if isinstance(value, Duration):
        return value
    return Duration.model_validate(
        _read_span(value, ("hours", "days", "weeks", "months", "years"), "'60 days', '2 weeks'")
    )


def parse_validity(value: Any) -> Validity:
    """`1 year`, `6 months`, `30 days` or `{amount, unit}` as a Validity."""
    if isinstance(value, Validity):
        return value
    return Validity.model_validate(
        _read_span(value, ("days", "weeks", "months", "years"), "'1 year', '6 months'")
    )


class Timing(Strict):
    after: Literal["course_end", "requirements_met", "participant_added"] | None = Field(
        None, description="the anchor the offset counts from"
    )
    before: Literal["certificate_expiry"] | None = Field(
        None,
        description="renewal: due `offset` units before the end of validity of the "
        "certificates of action `of` (instead of `after`)",
    )
    of: str | None = Field(
        None, description="with `before`: the action whose certificates are renewed"
    )
    offset: int = Field(0, ge=0, description="whole number of units after (or before) the anchor")
    unit: Unit = Field(
        "days",
        description="hours count elapsed time; days, weeks, months and years the calendar "
        "(from the end date itself when a course's end is a date)",
    )
    at: Annotated[
        str | None,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "pattern": r"^\s*([01]?\d|2[0-3]):[0-5]\d\s*$"},
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(None, description="local time of day, HH:MM or H:MM (9:00 is 09:00)")

    @field_validator("at", mode="before")
    @classmethod
    def _check_at(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip()
        if not _TIME_OF_DAY.match(text):
            raise ValueError(
                _("bad time of day {value} (HH:MM, 00:00 to 23:59)").format(value=repr(value))
            )
        hours, minutes = text.split(":")
        return f"{int(hours):02d}:{minutes}"

    @model_validator(mode="after")
    def _one_anchor(self) -> Timing:
        if (self.after is None) == (self.before is None):
            raise ValueError(
                _("give one anchor: `after` (course_end, ...) or `before: certificate_expiry`")
            )
        if self.before is not None and not self.of:
            raise ValueError(
                _("`before: certificate_expiry` needs `of`: the action whose certificates expire")
            )
        if self.before is None and self.of is not None:
            raise ValueError(_("`of` belongs with `before: certificate_expiry`"))
        return self

    @property
    def renews(self) -> str | None:
        """The action whose certificates' expiry this timing counts back from; None: not a renewal."""
        return self.of if self.before is not None else None

    @property
    def at_time(self) -> time | None:
        if self.at is None:
            return None
        hours, minutes = self.at.split(":")
        return time(int(hours), int(minutes))


# -- renewal reminders: what actions.yaml may not say of one ---------------------------------


class _Checked(Protocol):
    """What renewal's checks read of a condition set and an action (config.py's models)."""

    @property
    def course_status(self) -> list[str] | None: ...

    @property
    def attendance(self) -> str: ...

    @property
    def pass_(self) -> str: ...


class _Action(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def timing(self) -> Timing: ...

    @property
    def validity(self) -> Validity | None: ...


def renewal_conditions(timing: Timing, conditions: _Checked) -> str | None:
    """Why a reminder before certificate_expiry cannot have these conditions; None: it can."""
    if timing.renews is None:
        return None
    named = [
        name
        for name, given in (
            ("course_status", conditions.course_status is not None),
            ("attendance", conditions.attendance != "no"),
            ("pass", conditions.pass_ != "no"),
        )
        if given
    ]
    if not named:
        return None
    return _(
        "a reminder before certificate_expiry cannot have the condition {conditions}: the "
        "certificate of {action} already says the course was met (remove `conditions`)"
    ).format(conditions=", ".join(named), action=repr(timing.renews))


def anchor_conditions(timing: Timing, conditions: _Checked) -> str | None:
    """Why a timing after `requirements_met` cannot have these conditions; None: it can."""
    if timing.after != "requirements_met":
        return None
    checks = (conditions.attendance, conditions.pass_)
    if "yes" not in checks:
        return _(
            "timing.after 'requirements_met' needs a condition 'yes' (attendance: yes or pass: yes)"
        )
    if "not_met" in checks:
        return _("timing.after 'requirements_met' cannot be combined with a 'not_met' condition")
    return None


def renewal_problems(actions: Sequence[_Action], where: Callable[..., str]) -> list[str]:
    """A reminder before certificate_expiry names an action whose certificates expire;
    `where(*loc)` locates a key of actions.yaml."""
    by_id = {action.id: action for action in actions}
    problems = []
    for index, action in enumerate(actions):
        of = action.timing.renews
        if of is None:
            continue
        at = where("actions", index, "timing", "of")
        target = by_id.get(of)
        if target is None:
            said = _("timing.of names no action {action} (known: {known})").format(
                action=repr(of), known=", ".join(by_id)
            )
            problems.append(f"{at}: {said}{did_you_mean(of, list(by_id))}")
        elif target.validity is None:
            said = _(
                "action {action} has no `validity`, so its certificates never expire "
                "(give it `validity: 1 year`, say)"
            ).format(action=repr(of))
            problems.append(f"{at}: {said}")
        elif target.timing.renews is not None:
            said = _("action {action} is itself a reminder; name the certificate's action")
            problems.append(f"{at}: {said.format(action=repr(of))}")
    return problems


__all__ = [
    "DURATION_PATTERN",
    "DURATION_SCHEMA",
    "VALIDITY_PATTERN",
    "VALIDITY_SCHEMA",
    "Duration",
    "Timing",
    "Validity",
    "parse_duration",
    "parse_validity",
    "renewal_conditions",
    "renewal_problems",
]
