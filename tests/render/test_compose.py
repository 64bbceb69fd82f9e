from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from certify.config import load
from certify.inspect.validate import validate_all
from certify.render.compose import render_message
from certify.render.context import sample_context
from certify.render.message import build_message
from certify.render.templates import MERGE_FIELDS, Templates, translate_merge_fields
from tests.helpers import make_config

NOW = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)


def render(tmp_path: Path, text: str, html: str | None = None, **person: str) -> bytes:
    make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(text)
    if html is not None:
        (tmp_path / "templates" / "certificate.html.j2").write_text(html)
    config = load(tmp_path / "actions.yaml")
    templates = Templates(config)
    assert templates.problems == []
    context = sample_context(NOW)
    context["person"].update(person)
    message = render_message(
        templates, config.actions[0], context, message_id="<m1@example.org>", sent_at=NOW
    )
    return message.data


def test_every_merge_field_translates_to_a_known_variable(tmp_path: Path) -> None:
    body = "\n".join(f"[{name}]" for name in MERGE_FIELDS)
    raw = render(
        tmp_path, f'---\nsubject: "[Opleiding:Naam] - [Persoon:NaamVolledig]"\n---\n{body}\n'
    )
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Voorbeeldcursus <veiligheid> & co - Zoë van der Öztürk"
    text = parsed.get_body(("plain",)).get_content()
    assert "Zoë van der Öztürk" in text and "5 november 2026" in text and "2026-000001-7" in text


def test_unknown_merge_field_is_an_error_with_its_line() -> None:
    _, problems = translate_merge_fields(
        "line one\n[Opleiding:Naam] [Persoon:Schoenmaat]\n", "t.txt.j2"
    )
    assert problems and problems[0].startswith(
        "t.txt.j2:2: unknown merge field [Persoon:Schoenmaat]"
    )


def test_headers_and_multipart(tmp_path: Path) -> None:
    raw = render(
        tmp_path,
        "---\nsubject: Hi {{ person.first_name }}\n---\nBody\n",
        "<p>{{ person.full_name }}</p>",
    )
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Message-ID"] == "<m1@example.org>"
    assert parsed["X-Certify-Action"] == "certificate"
    assert parsed["X-Certify-Person"] == "SAMPLE"
    assert parsed["X-Certify-Course"] == "SAMPLE-COURSE"
    assert parsed["To"].addresses[0].display_name == "Zoë van der Öztürk"
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]  # RFC 2047 in the header block
    assert raw.split(b"\r\n\r\n")[0].isascii()


def test_html_is_escaped_text_is_not(tmp_path: Path) -> None:
    raw = render(
        tmp_path,
        "---\nsubject: x\n---\n{{ person.full_name }}\n",
        "<p>{{ person.full_name }}</p>",
        full_name="<script>alert(1)</script>",
    )
    parsed = message_from_bytes(raw, policy=policy.default)
    assert "&lt;script&gt;" in parsed.get_body(("html",)).get_content()
    assert "<script>" in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "evil",
    ["Eve\r\nBcc: victim@evil.example", "Eve\nX-Injected: 1", "Eve\rSubject: spam"],
)
def test_cr_lf_never_creates_a_header(tmp_path: Path, evil: str) -> None:
    raw = render(tmp_path, '---\nsubject: "Hi {{ person.full_name }}"\n---\nBody\n', full_name=evil)
    head = raw.split(b"\r\n\r\n")[0].decode()
    names = [line.split(":")[0] for line in head.split("\r\n") if line and not line[0].isspace()]
    assert "Bcc" not in names and "X-Injected" not in names and names.count("Subject") == 1


def test_internationalised_domain_is_punycoded() -> None:
    message = build_message(
        sender="Office <office@example.org>",
        to_name="Zoë",
        to_email="zoe@bücher.example",
        subject="Hi",
        text="x",
        html=None,
        message_id="<a@b>",
        sent_at=NOW,
        certify_headers={},
    )
    assert message.parsed()["To"].addresses[0].domain == "xn--bcher-kva.example"
    assert message.recipients == ["zoe@xn--bcher-kva.example"]


def test_undefined_variable_is_an_error_never_empty(tmp_path: Path) -> None:
    make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(
        "---\nsubject: x\n---\nline 4\n{% if false %}\n{{ course.nmae }}\n{% endif %}\n{{ nobody }}\n"
    )
    problems = validate_all(tmp_path / "actions.yaml")
    assert any("certificate.txt.j2:6: unknown variable 'course.nmae'" in p for p in problems), (
        problems
    )
    assert any("certificate.txt.j2:8: unknown variable 'nobody'" in p for p in problems), problems


def test_loop_variables_are_checked_against_the_part_schema(tmp_path: Path) -> None:
    make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(
        "---\nsubject: x\n---\n{% for p in parts %}{{ p.name }} {{ p.grade }}\n{{ p.naam }}{% endfor %}\n"
    )
    problems = validate_all(tmp_path / "actions.yaml")
    assert len(problems) == 1 and "certificate.txt.j2:5: unknown variable 'p.naam'" in problems[0]


def test_syntax_errors_and_front_matter_problems(tmp_path: Path) -> None:
    make_config(tmp_path)
    template = tmp_path / "templates" / "certificate.txt.j2"
    template.write_text("---\nsubject: x\n---\n\n{% if %}\n")
    assert any("certificate.txt.j2:5:" in p for p in validate_all(tmp_path / "actions.yaml"))
    template.write_text("no front matter\n")
    assert any("missing front matter" in p for p in validate_all(tmp_path / "actions.yaml"))
    template.write_text("---\nsubjet: x\n---\nBody\n")
    problems = validate_all(tmp_path / "actions.yaml")
    assert any("unknown front matter key 'subjet'" in p for p in problems)
    assert any("needs a 'subject:'" in p for p in problems)


def test_extra_fields_are_free_form(tmp_path: Path) -> None:
    make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(
        "---\nsubject: x\n---\n{{ person.extra.get('employer', '') }}\n"
    )
    assert validate_all(tmp_path / "actions.yaml") == []


def test_sandbox_refuses_unsafe_attributes(tmp_path: Path) -> None:
    make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(
        "---\nsubject: x\n---\n{{ now.__class__.__mro__ }}\n"
    )
    assert validate_all(tmp_path / "actions.yaml") != []


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("reply_to: Opleidingen Fryslân, Zoë & Co <info@example.nl>", "reply_to: not an e-mail"),
        ("from: office@example.org, boss@example.org", "reads as 2 addresses; the sender is one"),
        ("cc:", "cc: empty; give an address, or leave the line out"),
    ],
)
def test_a_fixed_address_in_front_matter_that_cannot_be_used_is_located(
    tmp_path: Path, line: str, said: str
) -> None:
    """Otherwise every delivery of the action would fail on it, one by one."""
    make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(
        f"---\nsubject: x\n{line}\n---\nHi\n"
    )
    [problem] = validate_all(tmp_path / "actions.yaml")
    assert "certificate.txt.j2:3: " in problem and said in problem


def test_addresses_in_front_matter_that_are_fine_or_come_from_data_pass(tmp_path: Path) -> None:
    make_config(tmp_path)
    (tmp_path / "templates" / "certificate.txt.j2").write_text(
        "---\nsubject: x\n"
        "reply_to: '\"Opleidingen Fryslân, Zoë & Co\" <info@example.nl>'\n"
        "cc: a@example.org, b@example.org\n"
        "bcc: '{{ person.email }}'\n"
        "---\nHi\n"
    )
    assert validate_all(tmp_path / "actions.yaml") == []
