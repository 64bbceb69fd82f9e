import io
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pypdf import PdfReader

from certify.certificates import attachment_file_name
from certify.config import load
from certify.context import sample_context
from certify.render import render_message
from certify.templates import Templates
from certify.validate import validate_all
from tests.conftest import ROOT, make_config

NOW = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)
LAYOUT = """
organisation: "Training office"
title: "Certificate"
lines:
  - {text: "[Persoon:NaamVolledig]", size: 32, bold: true}
  - {text: "{{ course.name }}", size: 20}
  - {text: "{% if requirements.attendance_required_parts %}present {{ requirements.attendance_present }}{% endif %}"}
footer: "No. {{ delivery.certificate_number }}"
"""
ATTACH = """
    attachments:
      - template: certificate
        filename: "Certificate - [Course:Name] - [Person:FullName]"
"""


def configured(tmp_path: Path, layout: str = LAYOUT) -> Path:
    make_config(tmp_path)
    actions = tmp_path / "actions.yaml"
    actions.write_text(
        actions.read_text().replace("    conditions:", ATTACH.strip("\n") + "\n    conditions:", 1)
    )
    (tmp_path / "templates" / "certificate.pdf.yaml").write_text(layout)
    return actions


def rendered_pdf(tmp_path: Path, **person: str) -> tuple[str, bytes]:
    config = load(configured(tmp_path))
    templates = Templates(config)
    assert templates.problems == []
    context = sample_context(NOW)
    context["person"].update(person)
    context["course"]["name"] = "Display training"
    message = render_message(templates, config.actions[0], context, message_id="<m@x>", sent_at=NOW)
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    (attachment,) = list(parsed.iter_attachments())
    return attachment.get_filename(), attachment.get_payload(decode=True)


@pytest.mark.parametrize("name", ["Zoë Öztürk", "Ğülşen Yılmaz", "Jürgen Großmann", "Łukasz Żółć"])
def test_the_pdf_carries_the_name_with_its_diacritics(tmp_path: Path, name: str) -> None:
    filename, data = rendered_pdf(tmp_path, full_name=name)
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert name in text
    assert "Display training" in text
    assert "No. 2026-000001-7" in text  # the certificate number of the delivery
    assert filename == f"Certificate - Display training - {name}.pdf"


def test_the_pdf_is_small_with_an_embedded_font_subset(tmp_path: Path) -> None:
    _, data = rendered_pdf(tmp_path)
    assert data.startswith(b"%PDF-") and len(data) < 100_000
    fonts = [
        f.get_object() for f in PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values()
    ]
    embedded = [f for f in fonts if "/FontDescriptor" in f and "/FontFile2" in f["/FontDescriptor"]]
    names = {str(f["/BaseFont"]) for f in embedded}
    assert names and all("+DejaVuSerif" in name for name in names)  # subsets (XXXXXX+Name)
    assert len(embedded) == len(fonts)  # nothing relies on fonts the reader may not have


def test_a_line_that_renders_empty_is_left_out(tmp_path: Path) -> None:
    config = load(configured(tmp_path))
    templates = Templates(config)
    context = sample_context(NOW)
    context["requirements"]["attendance_required_parts"] = 0
    message = render_message(templates, config.actions[0], context, message_id="<m@x>", sent_at=NOW)
    (attachment,) = list(message.iter_attachments())
    text = PdfReader(io.BytesIO(attachment.get_payload(decode=True))).pages[0].extract_text()
    assert "present" not in text


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (
            LAYOUT.replace("{{ course.name }}", "{{ course.nmae }}"),
            "unknown variable 'course.nmae'",
        ),
        (
            LAYOUT.replace("[Persoon:NaamVolledig]", "[Persoon:Schoenmaat]"),
            "unknown merge field [Persoon:Schoenmaat]",
        ),
        (LAYOUT + "logo: missing.png\n", "image 'missing.png' not found"),
        (LAYOUT.replace("{{ course.name }}", "{% if %}"), "certificate.pdf.yaml:"),
    ],
)
def test_a_broken_layout_is_a_validation_error(tmp_path: Path, layout: str, message: str) -> None:
    problems = validate_all(configured(tmp_path, layout))
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        (
            LAYOUT.replace("size: 32", "szie: 32"),
            ["5:38: unknown key 'szie' (did you mean 'size'?)"],
        ),
        (LAYOUT + "colour: red\n", ["9:1: unknown key 'colour' (did you mean 'text_color'?)"]),
        (
            LAYOUT + "signature: {name: A, rol: B}\n",
            ["9:22: unknown key 'rol' (did you mean 'role'?)"],
        ),
        (
            LAYOUT.replace("size: 20", "size: big"),
            ["6:39: 'size': Input should be a valid number, unable to parse string as a number"],
        ),
        (LAYOUT + 'accent: "gold"\n', ["9:9: 'gold' is not a colour (#rrggbb, such as #b08d3c)"]),
        (
            "lines: []\npage: A5\n",
            ["2:7: unknown page 'A5' (A4-landscape, A4-portrait, Letter-landscape)"],
        ),
        ("title: Certificate\n", ["1:1: missing required key 'lines'"]),
        (
            LAYOUT.replace('{text: "{{ course.name }}", size: 20}', '{txt: "{{ course.name }}"}'),
            ["6:5: missing required key 'text'", "6:6: unknown key 'txt' (did you mean 'text'?)"],
        ),
    ],
)
def test_a_layout_mistake_is_located_in_the_wording_of_actions_yaml(
    tmp_path: Path, layout: str, expected: list[str]
) -> None:
    file = tmp_path / "templates" / "certificate.pdf.yaml"
    problems = validate_all(configured(tmp_path, layout))
    assert problems == [f"{file}:{message}" for message in expected]


def test_a_missing_layout_is_a_validation_error(tmp_path: Path) -> None:
    actions = configured(tmp_path)
    (tmp_path / "templates" / "certificate.pdf.yaml").unlink()
    assert any("certificate.pdf.yaml: not found" in p for p in validate_all(actions))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Certificate - Display training - Bram van der Berg",
            "Certificate - Display training - Bram van der Berg.pdf",
        ),
        ('Cert: "A/B" <test>\\ or | ? *', "Cert A B test or.pdf"),
        ("CON", "_CON.pdf"),
        ("   . ", "certificate.pdf"),
        ("Zoë\r\nÖztürk", "Zoë Öztürk.pdf"),
    ],
)
def test_file_names_are_safe_everywhere(text: str, expected: str) -> None:
    assert attachment_file_name(text) == expected


def test_long_file_names_are_cut_to_a_safe_length() -> None:
    name = attachment_file_name("Certificaat - " + "Ö" * 300)
    assert name.endswith(".pdf") and len(name.encode("utf-8")) <= 160


def test_the_shipped_certificate_has_its_pdf() -> None:
    config = load(ROOT / "actions.yaml")
    certificate = config.action("certificate")
    assert [a.template for a in certificate.attachments] == ["certificate"]
    assert validate_all(ROOT / "actions.yaml") == []
