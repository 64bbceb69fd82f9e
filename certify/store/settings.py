"""The `retention:` section of actions.yaml: how long personal data is kept after a person's
last course ended."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema, field_validator

from certify.locale import _
from certify.yamlfile import Strict

_KEEP_PATTERN = r"^\s*(\d+)\s*(years?|months?)\s*$"


class Retention(Strict):
    personal_data: Annotated[
        int | None, WithJsonSchema({"type": "string", "pattern": _KEEP_PATTERN})
    ] = Field(
        None,
        description="forget a person (certify forget) this long after their last course "
        "ended, at each run-due: '7 years', '18 months'",
    )

    @field_validator("personal_data", mode="before")
    @classmethod
    def _months(cls, value: Any) -> Any:
        if value is None:
            return None
        match = re.match(_KEEP_PATTERN, str(value))
        if match is None or int(match.group(1)) == 0:
            raise ValueError(
                _(
                    "cannot read {value} as a time to keep personal data (a whole number of "
                    "years or months: '7 years', '18 months')"
                ).format(value=repr(value))
            )
        amount = int(match.group(1))
        return amount * 12 if match.group(2).startswith("year") else amount
