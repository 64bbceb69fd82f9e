"""The message as written for the wire, read back by the standard library: what goes in comes
out, no line is too long, every line ends in CRLF, and nothing can forge a header."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.render.message import AddressError, Attachment, build_message, make_address, one_line

NOW = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)


def mail(**given: object) -> object:
    options: dict[str, object] = {
        "sender": "Opleidingsbureau <opleidingen@example.org>",
        "to_name": "Zoë van der Öztürk",
        "to_email": "zoe@example.org",
        "subject": "Certificaat VCA Basis veiligheid - Zoë van der Öztürk",
        "text": "Beste Zoë,\n\nGefeliciteerd!\n",
        "html": None,
        "message_id": "<certify.1.abc@example.org>",
        "sent_at": NOW,
        "certify_headers": {"X-Certify-Action": "certificate", "X-Certify-Person": "P1"},
    }
    options.update(given)
    return build_message(**options)  # type: ignore[arg-type]


def same_text(received: str, sent: str) -> bool:
    """Equal as a mail client shows them: line ends as it likes, the last one optional
    (in a multipart the boundary takes the part's last line end, RFC 2046)."""

    def normal(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")

    return normal(received) == normal(sent)


def wire_lines(data: bytes) -> list[bytes]:
    assert b"\n" not in data.replace(b"\r\n", b""), "a line end that is not CRLF"
    return data.split(b"\r\n")


def test_headers_and_body_read_back() -> None:
    message = mail()
    parsed = message.parsed()  # type: ignore[attr-defined]
    assert parsed["Subject"] == "Certificaat VCA Basis veiligheid - Zoë van der Öztürk"
    assert parsed["To"].addresses[0].display_name == "Zoë van der Öztürk"
    assert parsed["To"].addresses[0].addr_spec == "zoe@example.org"
    assert parsed["From"].addresses[0].display_name == "Opleidingsbureau"
    assert parsed["Message-ID"] == "<certify.1.abc@example.org>"
    assert parsed["Date"].datetime == NOW
    assert parsed["X-Certify-Person"] == "P1"
    assert parsed.get_content_type() == "text/plain"
    assert same_text(parsed.get_content(), "Beste Zoë,\n\nGefeliciteerd!\n")
    assert all(len(line) <= 78 for line in wire_lines(message.data))  # type: ignore[attr-defined]
    assert message.data.isascii()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "name",
    ["Zoë Öztürk", "Zoë van der Öztürk", "Ярослава Анатольевна Петрова-Водкина", "J. ter Ødegård"],
)
def test_a_name_reads_back_with_its_spaces_as_mail_programs_read_it(name: str) -> None:
    data = mail(to_name=name).data  # type: ignore[attr-defined]
    head = data.split(b"\r\n\r\n")[0].decode()
    to = re.search(r"^To: (.*?)\r\n(?! )", head, re.S | re.M)
    assert to is not None
    decoded = str(make_header(decode_header(to.group(1).replace("\r\n", ""))))
    assert decoded == f"{name} <zoe@example.org>"


def test_names_with_commas_and_quotes_stay_one_address() -> None:
    parsed = mail(to_name='Berg, Jan "de Baas" van der').parsed()  # type: ignore[attr-defined]
    (address,) = parsed["To"].addresses
    assert address.display_name == 'Berg, Jan "de Baas" van der'
    assert address.addr_spec == "zoe@example.org"


def test_html_alternative_and_attachment() -> None:
    pdf = bytes(range(256)) * 40
    message = mail(
        html="<p>Beste <b>Zoë</b></p>",
        attachments=[Attachment("Certificaat - VCA - Zoë Öztürk.pdf", "application/pdf", pdf)],
    )
    parsed = message.parsed()  # type: ignore[attr-defined]
    assert parsed.get_content_type() == "multipart/mixed"
    assert same_text(parsed.get_body(("html",)).get_content(), "<p>Beste <b>Zoë</b></p>")
    assert same_text(parsed.get_body(("plain",)).get_content(), "Beste Zoë,\n\nGefeliciteerd!")
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "Certificaat - VCA - Zoë Öztürk.pdf"
    assert attachment.get_payload(decode=True) == pdf
    assert message.attachments == ["Certificaat - VCA - Zoë Öztürk.pdf"]  # type: ignore[attr-defined]


def test_bcc_is_an_envelope_recipient_only() -> None:
    message = mail(cc="Copy <copy@example.org>", bcc="Hidden <hidden@example.org>")
    assert message.recipients == [  # type: ignore[attr-defined]
        "zoe@example.org",
        "copy@example.org",
        "hidden@example.org",
    ]
    assert b"hidden@example.org" not in message.data  # type: ignore[attr-defined]
    assert message.parsed()["Cc"] == "Copy <copy@example.org>"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "evil", ["Eve\r\nBcc: x@evil.example", "Eve\nX-Injected: 1", "Eve\r\r\n\r\nbody"]
)
def test_no_value_can_create_a_header(evil: str) -> None:
    message = mail(to_name=evil, subject=evil, certify_headers={"X-Certify-Person": evil})
    head = message.data.split(b"\r\n\r\n")[0].decode()  # type: ignore[attr-defined]
    names = [line.split(":")[0] for line in head.split("\r\n") if not line[0].isspace()]
    assert "Bcc" not in names and "X-Injected" not in names
    assert message.parsed()["Subject"] == one_line(evil)  # type: ignore[attr-defined]


def test_long_lines_and_an_ascii_subject_that_never_ends() -> None:
    text = "x" * 3000 + "\n" + "é" * 500 + "\n.leading dot\n"
    subject = "word " * 60 + "a" * 1200
    message = mail(text=text, subject=subject)
    assert all(len(line) <= 998 for line in wire_lines(message.data))  # type: ignore[attr-defined]
    parsed = message.parsed()  # type: ignore[attr-defined]
    assert same_text(parsed.get_content(), text)
    assert parsed["Subject"] == one_line(subject)


def test_a_local_part_beyond_ascii_needs_smtputf8() -> None:
    assert not mail().smtputf8  # type: ignore[attr-defined]
    message = mail(to_email="zoë@example.org")
    assert message.smtputf8 and message.recipients == ["zoë@example.org"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("email", ["nobody", "zoe at example.org", "a,b@example.org", "<x>@y.org"])
def test_addresses_that_cannot_be_used(email: str) -> None:
    with pytest.raises(AddressError):
        make_address("X", email)


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(min_size=0, max_size=80),
    subject=st.text(min_size=0, max_size=200),
    text=st.text(min_size=0, max_size=400),
)
def test_what_goes_in_comes_out(name: str, subject: str, text: str) -> None:
    message = mail(to_name=name, subject=subject, text=text, html=text)
    lines = wire_lines(message.data)  # type: ignore[attr-defined]
    assert all(len(line) <= 998 for line in lines)
    parsed = message.parsed()  # type: ignore[attr-defined]
    assert parsed["Subject"] == one_line(subject)
    # the standard library keeps the space between two encoded words of a name, which
    # RFC 2047 readers drop: compare the characters, and the spaces in the tests above
    shown = parsed["To"].addresses[0].display_name
    assert "".join(shown.split()) == "".join(one_line(name).split())
    assert same_text(parsed.get_body(("plain",)).get_content(), text)
    assert same_text(parsed.get_body(("html",)).get_content(), text)
