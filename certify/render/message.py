"""Building one e-mail message: addresses, safe headers, text and HTML, attachments.

The message is written out once, as the bytes that go over the wire (CRLF line ends), with
every header folded and encoded here: RFC 2047 for names and subjects, RFC 2231 for file
names, quoted-printable or base64 bodies. Nothing a template produced can create a header:
every header value is one line, and addresses are built from their parts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime

# the addresses' own module, read from here too by the modules that build messages
from certify.render.addresses import Address as Address
from certify.render.addresses import AddressError as AddressError
from certify.render.addresses import make_address as make_address
from certify.render.addresses import one_line as one_line
from certify.render.addresses import parse_address_list as parse_address_list

_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*$")  # a phrase needing no quotes
_WORD = 60  # the longest word of a display name written as it is
LINE = 76  # encoded lines and folded headers stay within this (RFC 5322 asks for 78)


def _encoded_words(text: str, most: int = 30) -> list[str]:
    """RFC 2047 encoded words (UTF-8, base64) of at most `most` bytes, whole characters."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > most:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    if chunk:
        words.append("".join(chunk))
    return [
        "=?utf-8?b?" + base64.b64encode(word.encode("utf-8")).decode("ascii") + "?="
        for word in words
    ]


def _fold(name: str, words: Sequence[str]) -> str:
    """`Name: word word ...`, folded at spaces so that no line gets longer than needed."""
    lines, current = [], f"{name}:"
    for word in words:
        if current != f"{name}:" and len(current) + 1 + len(word) > LINE:
            lines.append(current)
            current = f" {word}"
        else:
            current = f"{current} {word}"
    lines.append(current)
    return "\r\n".join(lines)


def _unstructured(name: str, value: str) -> str:
    """A text header (Subject, X-...) as it goes on the wire."""
    value = one_line(value)
    words = value.split(" ") if value else []
    if value.isascii() and "=?" not in value and all(len(word) < 900 for word in words):
        return _fold(name, words)
    return _fold(name, _encoded_words(value))


def _phrase(name: str) -> list[str]:
    """A display name as words of a header: plain, quoted, or encoded.

    Plain words stay plain and runs of the others become encoded words, so that the space
    between them survives every reader (white space between two encoded words is dropped).
    """
    if not name:
        return []
    # a word longer than a folded line could hold is encoded in pieces: a header line stays
    # within RFC 5322's 998 octets whatever a name holds
    if name.isascii() and "=?" not in name and len(name) <= _WORD:
        if _ATOM.match(name):
            return name.split(" ")
        return ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    words: list[str] = []
    run: list[str] = []
    for token in name.split(" "):
        if token.isascii() and _ATOM.match(token) and "=?" not in token and len(token) <= _WORD:
            if run:
                words.extend(_encoded_words(" ".join(run), 39))
                run = []
            words.append(token)
        else:
            run.append(token)
    if run:
        words.extend(_encoded_words(" ".join(run), 39))
    return words


def _addresses(name: str, addresses: Sequence[Address]) -> str:
    """An address header: `Name <a@b>, c@d`, folded between addresses and words."""
    words: list[str] = []
    for index, address in enumerate(addresses):
        phrase = _phrase(address.name)
        last = f"<{address.addr_spec}>" if phrase else address.addr_spec
        if index < len(addresses) - 1:
            last += ","
        words.extend([*phrase, last])
    return _fold(name, words)


def _body(text: str, subtype: str) -> tuple[list[str], bytes]:
    """Headers and encoded body of one text part: 7bit when plain, else quoted-printable."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    raw = text.encode("utf-8")
    if raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\n")):
        encoding, data = "7bit", raw
    else:
        encoding = "quoted-printable"
        data = binascii.b2a_qp(raw, istext=True)
    if not data.endswith(b"\n"):
        data += b"\n"
    charset = "us-ascii" if raw.isascii() else "utf-8"
    headers = [
        f'Content-Type: text/{subtype}; charset="{charset}"',
        f"Content-Transfer-Encoding: {encoding}",
    ]
    return headers, data.replace(b"\n", b"\r\n")


def _file_name(file_name: str) -> str:
    """The filename parameter: quoted when plain, RFC 2231 encoded when not."""
    file_name = one_line(file_name)
    if file_name.isascii() and '"' not in file_name and "\\" not in file_name:
        return f'filename="{file_name}"'
    quoted = "".join(
        chr(byte)
        if byte < 128 and (chr(byte).isalnum() or chr(byte) in "!#$&+-.^_`|~")
        else f"%{byte:02X}"
        for byte in file_name.encode("utf-8")
    )
    return f"filename*=utf-8''{quoted}"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried by a message."""

    file_name: str
    content_type: str  # e.g. application/pdf
    data: bytes


@dataclass(frozen=True, slots=True)
class Mail:
    """One message as it goes out: its bytes (no Bcc in them) and its envelope."""

    data: bytes
    recipients: list[str]  # To, Cc and Bcc: where the transport hands it
    subject: str
    smtputf8: bool  # an address needs SMTPUTF8 (non-ASCII before the @)
    attachments: list[str] = field(default_factory=list)  # their file names
    certificate: bytes | None = None  # the first PDF made from a layout: what the register keeps

    def parsed(self) -> EmailMessage:
        """The message read back with the standard library (for previews and tests)."""
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _boundary(seed: str, parts: Sequence[bytes]) -> str:
    """A boundary that none of the parts contains (quoted-printable and base64 never hold
    `=_`, and a plain part is checked)."""
    token = hashlib.sha256(seed.encode()).hexdigest()[:24]
    boundary = f"=_certify_{token}"
    while any(boundary.encode() in part for part in parts):
        boundary += "_"
    return boundary


def _multipart(
    subtype: str, parts: Sequence[tuple[list[str], bytes]], seed: str
) -> tuple[list[str], bytes]:
    """Headers and body of a multipart made of (headers, body) parts."""
    boundary = _boundary(seed + subtype, [body for _, body in parts])
    chunks = []
    for headers, body in parts:
        chunks.append(f"--{boundary}\r\n".encode() + "\r\n".join(headers).encode("utf-8"))
        chunks.append(b"\r\n\r\n" + body)
    chunks.append(f"--{boundary}--\r\n".encode())
    return [f'Content-Type: multipart/{subtype}; boundary="{boundary}"'], b"".join(chunks)


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
    attachments: Sequence[Attachment] = (),
) -> Mail:
    """The message of one delivery; `sent_at` is the run's moment in local time."""
    to = make_address(to_name, to_email)
    senders = parse_address_list(sender)
    copies = parse_address_list(cc) if cc else ()
    blind = parse_address_list(bcc) if bcc else ()
    headers = [
        _addresses("From", senders),
        _addresses("To", [to]),
    ]
    if reply_to:
        headers.append(_addresses("Reply-To", parse_address_list(reply_to)))
    if copies:
        headers.append(_addresses("Cc", copies))
    headers.append(_unstructured("Subject", subject))
    headers.append(f"Date: {format_datetime(sent_at)}")
    headers.append(f"Message-ID: {one_line(message_id)}")
    for name, value in certify_headers.items():
        headers.append(_unstructured(name, value))
    headers.append("MIME-Version: 1.0")
    content = _body(text, "plain")
    if html is not None:
        content = _multipart("alternative", [content, _body(html, "html")], message_id)
    if attachments:
        files = [
            (
                [
                    f"Content-Type: {attachment.content_type}",
                    "Content-Transfer-Encoding: base64",
                    f"Content-Disposition: attachment; {_file_name(attachment.file_name)}",
                ],
                base64.encodebytes(attachment.data).replace(b"\n", b"\r\n"),
            )
            for attachment in attachments
        ]
        content = _multipart("mixed", [content, *files], message_id)
    part_headers, body = content
    head = "\r\n".join([*headers, *part_headers]).encode("utf-8")
    everyone = [to, *copies, *blind]
    return Mail(
        data=head + b"\r\n\r\n" + body,
        recipients=[address.addr_spec for address in everyone],
        subject=one_line(subject),
        smtputf8=not all(address.ascii for address in [*everyone, *senders]),
        attachments=[attachment.file_name for attachment in attachments],
    )
