"""E-mail addresses made safe to write in a header: one line, a plain local part, the
domain punycoded. Apart from the message itself, as reading actions.yaml's sender needs these
and not the e-mail package's message machinery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses
from functools import lru_cache

from certify.locale import _

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPACE = re.compile(r"\s+")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")  # a local part needing no quotes
_ADDRESS_LENGTH = 254  # RFC 5321's longest path, less its angle brackets


def one_line(value: str) -> str:
    """A header value never carries CR, LF or other control characters: they become a space."""
    return _SPACE.sub(" ", _CONTROL.sub(" ", value)).strip()


class AddressError(ValueError):
    """An address that cannot be sent to: a fault of one person's data, not of the setup."""


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: a display name and an address (domain punycoded)."""

    name: str
    addr_spec: str

    @property
    def ascii(self) -> bool:
        """Can the address travel without SMTPUTF8?"""
        return self.addr_spec.isascii()


def make_address(display_name: str, email: str) -> Address:
    """An address with a safe display name and a punycoded domain."""
    email = one_line(email)
    if len(email) > _ADDRESS_LENGTH:
        raise AddressError(
            _("not an e-mail address: {address}... has {count} characters (at most {most})").format(
                address=repr(email[:40]), count=len(email), most=_ADDRESS_LENGTH
            )
        )
    if email.count("@") < 1 or " " in email:
        raise AddressError(_("not an e-mail address: {address}").format(address=repr(email)))
    local, _at, domain = email.rpartition("@")
    # a plain local part only: a comma or bracket in it would change what the header says
    if not local or not domain or (local.isascii() and not _LOCAL.match(local)):
        raise AddressError(_("not an e-mail address: {address}").format(address=repr(email)))
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise AddressError(
            _("bad domain in {address}: {reason}").format(address=repr(email), reason=exc)
        ) from None
    return Address(one_line(display_name), f"{local}@{domain}")


@lru_cache(maxsize=64)
def parse_address_list(value: str) -> tuple[Address, ...]:
    """`Name <a@b>, c@d` as addresses, each made safe like `make_address` (the sender is the
    same for every message of a run, so the answer is kept)."""
    return tuple(
        make_address(name, email) for name, email in getaddresses([one_line(value)]) if email
    )


def sender_problem(value: str) -> str | None:
    """Why actions.yaml's `sender` is not one address to send from; None: it is."""
    try:
        found = parse_address_list(value)
    except AddressError as exc:
        found, problem = (), str(exc)
    else:
        if len(found) == 1:
            return None
        problem = _("{value} reads as {count} addresses").format(
            value=repr(value), count=len(found)
        )
    said = _("{problem}: the sender is one address, Name <address>").format(problem=problem)
    name, bracket, rest = value.rpartition("<")
    if bracket and name.strip():
        quoted = f'"{name.strip().strip(chr(34))}" <{rest}'
        said += _("; a name with a comma goes in double quotes: {quoted}").format(
            quoted=repr(quoted)
        )
    return said
