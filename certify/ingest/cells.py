"""The readers of one cell of an export: yes/no words, percentages, addresses, statuses."""

from __future__ import annotations

import re
from collections.abc import Mapping

from certify.locale import _


class CellError(ValueError):
    """A cell that cannot be read: `column` names it, the message says why."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


_TRUE = frozenset({"yes", "y", "true", "1", "ja", "j", "x"})
_FALSE = frozenset({"no", "n", "false", "0", "nee", "", "-"})
# the words results and attendance are registered with in Dutch training systems
RESULT_WORDS = {
    "voldoende": 1,
    "geslaagd": 1,
    "behaald": 1,
    "onvoldoende": 0,
    "gezakt": 0,
    "niet behaald": 0,
    "aanwezig": 1,
    "afwezig": 0,
}
_BOOL_WORDS = (
    "yes/no, y/n, true/false, 1/0, ja/nee, j/n, x/empty, voldoende/onvoldoende, aanwezig/afwezig"
)


_BOOLS = {word: 1 for word in _TRUE} | {word: 0 for word in _FALSE} | RESULT_WORDS


def read_bool(value: str, column: str, words: Mapping[str, int] | None = None) -> int:
    """1 or 0 for a yes or no word in Dutch or English, or one of `words` (lower-case: the
    column's own words from actions.yaml); empty is no."""
    folded = " ".join(value.lower().split())
    result = words.get(folded) if words else None
    if result is None:
        result = _BOOLS.get(folded)
    if result is None:
        said = (
            _("cannot read {value} as yes or no ({words}, or {own})")
            if words
            else _("cannot read {value} as yes or no ({words})")
        ).format(value=repr(value), words=_BOOL_WORDS, own="/".join(words or ()))
        raise CellError(column, said)
    return result


def read_registered_bool(
    value: str, column: str, words: Mapping[str, int] | None = None
) -> int | None:
    """present/passed: empty means "not registered" (None: the row is ignored)."""
    return None if value == "" else read_bool(value, column, words)


_PERCENT = re.compile(r"^(\d{1,3})(?:[.,]0+)?\s*%?$")


def read_percentage(value: str, column: str) -> int | None:
    """A whole percentage from 0 to 100, with or without `%`; None when empty."""
    if value == "":
        return None
    match = _PERCENT.match(value)
    if match is None or int(match.group(1)) > 100:
        said = _("{value} is not a percentage from 0 to 100 (a whole number such as 75)")
        raise CellError(column, said.format(value=repr(value)))
    return int(match.group(1))


# The everyday address (ASCII dot-atoms, a host name with a letter TLD) is certainly valid;
# anything else goes to email_validator, which knows the rest of the standards.
_PLAIN_EMAIL = re.compile(
    r"^(?=.{1,254}$)(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def read_email(value: str, column: str) -> str:
    """The address as given, once it is known to be a valid one; it is required."""
    if value == "":
        raise CellError(column, _("an e-mail address is required"))
    if _PLAIN_EMAIL.match(value):
        return value
    # only imports with an unusual address pay for loading the full validator
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        said = _("{value} is not an e-mail address ({reason})")
        raise CellError(column, said.format(value=repr(value), reason=exc)) from None
    return value


_ENROLLMENT_STATUS = {
    "": "enrolled",
    "enrolled": "enrolled",
    "ingeschreven": "enrolled",
    "active": "enrolled",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "geannuleerd": "cancelled",
    "afgemeld": "cancelled",
}


def read_enrollment_status(value: str, column: str) -> str:
    """`enrolled` or `cancelled`, from their Dutch and English names; empty is enrolled."""
    status = _ENROLLMENT_STATUS.get(value.lower())
    if status is None:
        said = _("unknown enrollment status {value} (enrolled or cancelled)")
        raise CellError(column, said.format(value=repr(value)))
    return status
