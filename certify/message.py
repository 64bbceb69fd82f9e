"""Building one e-mail message: addresses, safe headers, text and HTML parts.

No value can create a header: every header value is one line, and addresses are built
from their parts, never parsed from text a template produced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, getaddresses

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SPACE = re.compile(r"\s+")


def one_line(value: str) -> str:
    """A header value never carries CR, LF or other control characters: they become a space."""
    return _SPACE.sub(" ", _CONTROL.sub(" ", value)).strip()


class AddressError(ValueError):
    """An address that cannot be sent to: a fault of one person's data, not of the setup."""


def make_address(display_name: str, email: str) -> Address:
    """An Address with a safe display name and a punycoded domain."""
    email = one_line(email)
    if email.count("@") < 1 or " " in email:
        raise AddressError(f"not an e-mail address: {email!r}")
    local, _, domain = email.rpartition("@")
    if not local or not domain:
        raise AddressError(f"not an e-mail address: {email!r}")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise AddressError(f"bad domain in {email!r}: {exc}") from None
    try:
        return Address(display_name=one_line(display_name), username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise AddressError(f"not an e-mail address: {email!r} ({exc})") from None


def parse_address_list(value: str) -> list[Address]:
    """`Name <a@b>, c@d` as addresses, each made safe like `make_address`."""
    return [make_address(name, email) for name, email in getaddresses([one_line(value)]) if email]


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
    """The message of one delivery; `sent_at` is the run's moment in local time."""
    to = make_address(to_name, to_email)
    needs_utf8 = not to.username.isascii()
    message = EmailMessage(policy=SMTPUTF8 if needs_utf8 else SMTP)
    message["From"] = parse_address_list(sender)
    message["To"] = to
    for header, value in (("Reply-To", reply_to), ("Cc", cc), ("Bcc", bcc)):
        if value:
            message[header] = parse_address_list(value)
    message["Subject"] = one_line(subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = one_line(message_id)
    for header, value in certify_headers.items():
        message[header] = one_line(value)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
