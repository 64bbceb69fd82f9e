import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from jinja2 import Environment, StrictUndefined
from pypdf import PdfReader

from certify.config import load
from certify.inspect.validate import validate_all
from certify.render.compose import render_message
from certify.render.context import sample_context
from certify.render.glyphs import font_chains, visual_order
from certify.render.layout import (
    CompiledLayout,
    MissingGlyphs,
    attachment_file_name,
    load_layout,
    render_pdf,
    undrawable,
)
from certify.render.templates import Templates
from tests.fontmaker import make_font
from tests.helpers import ROOT, cli, make_config

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
    parsed = message_from_bytes(message.data, policy=policy.default)
    (attachment,) = list(parsed.iter_attachments())
    return attachment.get_filename(), attachment.get_payload(decode=True)


@pytest.mark.parametrize("name", ["Zoë Öztürk", "Ğülşen Yılmaz", "Jürgen Großmann", "Łukasz Żółć"])
def test_the_pdf_carries_the_name_with_its_diacritics(tmp_path: Path, name: str) -> None:
    filename, data = rendered_pdf(tmp_path, full_name=name)
    reader = PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    assert name in text
    # its properties say whose and which course's certificate it is
    assert reader.metadata is not None
    assert reader.metadata.title is not None and reader.metadata.title.endswith(f" - {name}")
    assert reader.metadata.subject == "Display training"
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
    (attachment,) = list(message.parsed().iter_attachments())
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
            'lines:\n  - "This is to certify that"\n',
            [
                "2:5: each entry of 'lines' is a mapping with the keys text, size, bold, "
                "space_before: write - {text: \"...\"}, not 'This is to certify that'"
            ],
        ),
        (
            LAYOUT + 'signature: "Drs. M. Jansen"\n',
            [
                "9:12: 'signature' is a mapping with the keys name, role, image, each on its "
                "own indented line (signature:, then   name: ...), not 'Drs. M. Jansen'"
            ],
        ),
        (
            'lines: "This is to certify that"\n',
            [
                "1:8: 'lines' is a list, one entry per line starting with '- ', not "
                "'This is to certify that'"
            ],
        ),
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


# -- characters the shipped DejaVu Serif lacks ---------------------------------------------

# What the box font of a test draws: a CJK, an Armenian and a Hebrew name, and a space
FALLBACK_CHARACTERS = "李小龍Աննա Սարգսյանדוד כהן"
# The test layout in plain Jinja, the name still on line 5: read here by `load_layout`
# itself, so these tests see the certificate alone, whatever loads the e-mails around it
FONT_LAYOUT = LAYOUT.replace("[Persoon:NaamVolledig]", "{{ person.full_name }}")
JINJA = Environment(undefined=StrictUndefined, autoescape=False)


def layout_file(
    directory: Path,
    layout: str = FONT_LAYOUT,
    *,
    fallback: str | None = FALLBACK_CHARACTERS,
    font_name: str = "CertifyTestBoxes",
) -> Path:
    """A layout in `directory`; unless `fallback` is None it names a box font drawing those."""
    directory.mkdir(exist_ok=True)
    if fallback is not None:
        layout += "fonts: [boxes.ttf]\n"
        make_font(directory / "boxes.ttf", fallback, name=font_name)
    path = directory / "certificate.pdf.yaml"
    path.write_text(layout)
    return path


def compiled(path: Path) -> CompiledLayout:
    layout, problems = load_layout(
        path,
        lambda name, source, file, line: JINJA.from_string(source),
        lambda source, file, line: (source, []),
    )
    assert problems == [] and layout is not None, problems
    return layout


def certificate(layout: CompiledLayout, **person: str) -> bytes:
    """The certificate PDF of the sample participant, with `person` fields replaced."""
    context = sample_context(NOW)
    context["person"].update(person)
    return render_pdf(layout, context)


def embedded_fonts(data: bytes) -> set[str]:
    fonts = PdfReader(io.BytesIO(data)).pages[0]["/Resources"]["/Font"].values()
    return {str(f.get_object()["/BaseFont"]).split("+", 1)[1] for f in fonts}


def page_text(data: bytes) -> str:
    return PdfReader(io.BytesIO(data)).pages[0].extract_text()


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("李小龍", "'李' (U+674E)"),
        ("Աննա Սարգսյան", "'Ա' (U+0531)"),
        ("דוד כהן", "'ד' (U+05D3)"),
        ("Bruce ნინო", "'ნ' (U+10DC)"),
    ],
)
def test_a_name_no_font_can_draw_fails_naming_the_character(
    tmp_path: Path, name: str, first: str
) -> None:
    file = layout_file(tmp_path, fallback=None)
    with pytest.raises(MissingGlyphs) as raised:
        certificate(compiled(file), full_name=name)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{file}:5: no font can draw {first}")  # 5: the name's line
    assert f'in "{name}"; add a font that has them under fonts: in the layout' in problem
    assert " " not in raised.value.characters and "B" not in raised.value.characters


def test_one_missing_character_is_named_alone_and_every_text_is_checked(tmp_path: Path) -> None:
    layout = FONT_LAYOUT.replace('title: "Certificate"', 'title: "Certificate ✈"')
    with pytest.raises(MissingGlyphs) as raised:
        certificate(compiled(layout_file(tmp_path, layout, fallback=None)), full_name="Zoë 李")
    assert [p.split(": ", 1)[1] for p in raised.value.problems] == [
        "no font can draw '✈' (U+2708) in \"Certificate ✈\"; "
        "add a font that has it under fonts: in the layout",
        "no font can draw '李' (U+674E) in \"Zoë 李\"; "
        "add a font that has it under fonts: in the layout",
    ]
    assert raised.value.characters == ["✈", "李"]


def test_a_layout_text_no_font_can_draw_is_found_by_validate(tmp_path: Path) -> None:
    actions = configured(tmp_path, LAYOUT.replace('title: "Certificate"', 'title: "证书"'))
    problems = validate_all(actions)
    assert any("certificate.pdf.yaml:3: no font can draw '证' (U+8BC1)" in p for p in problems)


@pytest.mark.parametrize("name", ["李小龍", "Bruce 李小龍 Lee", "Աննա Սարգսյան", "Zoë Սարգսյան"])
def test_a_fallback_font_draws_what_the_shipped_face_lacks(tmp_path: Path, name: str) -> None:
    data = certificate(compiled(layout_file(tmp_path)), full_name=name)
    assert name in page_text(data)
    # embedded as a subset, as DejaVu is (each test's box font has a name of its own)
    assert any(font.startswith("CertifyTestBoxes") for font in embedded_fonts(data))


def test_the_organisation_in_two_fonts_keeps_its_letter_spacing(tmp_path: Path) -> None:
    layout = FONT_LAYOUT.replace('"Training office"', '"李小龍 office"')
    data = certificate(compiled(layout_file(tmp_path, layout)))
    assert "李小龍  OFFICE" in page_text(data)
    stream = PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()  # type: ignore[union-attr]
    assert b"2 Tc" in stream and b"0 Tc" in stream  # spaced letters, then back to normal


def test_an_invisible_format_character_no_font_has_is_no_problem(tmp_path: Path) -> None:
    layout = compiled(layout_file(tmp_path, fallback=None))
    data = certificate(layout, full_name="Zoë\ufeff Öztürk")  # a stray BOM
    assert "Zoë Öztürk" in page_text(data)
    stream = PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()  # type: ignore[union-attr]
    assert b"\\000" not in stream  # no "missing glyph" box drawn in its place


def test_a_hebrew_name_is_drawn_right_to_left(tmp_path: Path) -> None:
    data = certificate(compiled(layout_file(tmp_path)), full_name="דוד כהן")
    stream = PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()  # type: ignore[union-attr]
    # the box font numbers its glyphs in the order first used: drawn from the right, the
    # first is final nun (ן), then he, kaf, a space, dalet, vav, dalet
    assert b"(\\001\\002\\003 \\004\\005\\004) Tj" in stream
    assert "דוד כהן" in page_text(data)  # readers put it back in reading order


@pytest.mark.parametrize(
    ("logical", "drawn"),
    [
        ("Zoë Öztürk", "Zoë Öztürk"),
        ("אב גד", "דג בא"),
        ("Dr. אב גד, MSc", "Dr. דג בא, MSc"),  # the comma before a Latin word stays left-to-right
        ("אב 12", "12 בא"),  # numbers keep their order
        ("אב (גד)", "(דג) בא"),  # brackets are mirrored
        ("א\u05b8ב", "בא\u05b8"),  # a vowel mark (qamats) stays with its letter
    ],
)
def test_right_to_left_stretches_are_put_in_drawing_order(logical: str, drawn: str) -> None:
    assert visual_order(logical) == drawn


def test_fallback_fonts_are_made_bold_and_spaces_and_marks_stay_with_their_letter(
    tmp_path: Path,
) -> None:
    font = make_font(tmp_path / "marks.ttf", "李\u0301 ")
    plain, strong = font_chains((font,))
    assert plain.runs("Bruce 李\u0301 Lee") == [(0, "Bruce "), (1, "李\u0301 "), (0, "Lee")]
    assert plain.runs("Zoe\u0301 李") == [(0, "Zoe\u0301 "), (1, "李")]
    # a bold line: DejaVu Serif Bold, then the regular face and the fallback, outlined
    assert strong.runs("ℂ李") == [(1, "ℂ"), (2, "李")] and strong.fake_bold_from == 1
    data = certificate(compiled(layout_file(tmp_path)), full_name="Bruce 李小龍")  # a bold line
    stream = PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data()  # type: ignore[union-attr]
    assert b"2 Tr" in stream and b"0 Tr" in stream  # filled and outlined, then back to normal


@pytest.mark.parametrize("separator", [" ", ""])
def test_a_long_line_in_two_fonts_is_wrapped_within_the_page(
    tmp_path: Path, separator: str
) -> None:
    words = separator.join(["李小龍"] * 24)  # with spaces, or without as Chinese is written
    data = certificate(compiled(layout_file(tmp_path)), full_name=words)
    name_lines = [line for line in page_text(data).splitlines() if "李" in line]
    assert len(name_lines) > 1 and "".join(name_lines).replace(" ", "") == "李小龍" * 24
    # set smaller first (32 points down to 60 %), then wrapped: each line, boxes 0.9 em wide
    # (spaces too), fits the 682 points between margins
    assert all(len(line.strip()) * 0.9 * 32 * 0.6 <= 842 - 160 for line in name_lines)


def test_arabic_is_refused_even_with_a_font_that_has_it(tmp_path: Path) -> None:
    layout = compiled(layout_file(tmp_path, fallback="محمد"))
    with pytest.raises(MissingGlyphs) as raised:
        certificate(layout, full_name="محمد")
    assert "cannot lay out 'م' (U+0645)" in str(raised.value)
    assert "Arabic letters change shape with their neighbours" in str(raised.value)


def test_undrawable_names_what_the_layout_cannot_draw(tmp_path: Path) -> None:
    shipped = compiled(layout_file(tmp_path / "shipped", fallback=None))
    assert undrawable(shipped, "Zoë Öztürk") == []
    assert undrawable(shipped, "李 小李") == ["李", "小"]
    fallback = compiled(layout_file(tmp_path / "fallback"))
    assert undrawable(fallback, "李小龍 Zoë") == []
    assert undrawable(fallback, "李四") == ["四"]


def test_an_ordinary_name_makes_the_same_pdf_with_or_without_fallback_fonts(
    tmp_path: Path,
) -> None:
    before = certificate(
        compiled(layout_file(tmp_path / "a", fallback=None)), full_name="Zoë Öztürk"
    )
    after = certificate(compiled(layout_file(tmp_path / "b")), full_name="Zoë Öztürk")
    # 20,117 bytes before fallback fonts existed; dates and IDs differ, the length does not
    assert abs(len(before) - 20_117) < 20_117 * 0.03
    assert len(after) == len(before)
    assert embedded_fonts(after) == {"DejaVuSerif", "DejaVuSerif-Bold"}  # the fallback unused


@pytest.mark.parametrize(
    ("fonts", "file", "expected"),
    [
        ("[missing.ttf]", None, "9:9: font 'missing.ttf' not found next to the layout"),
        (
            "[boxes.ttf, notes.ttf]",
            b"not a font at all",
            "9:20: font 'notes.ttf' is not a TrueType font (.ttf)",
        ),
        (
            "\n  - boxes.ttf\n  - notes.otf",
            b"OTTO" + bytes(200),
            "11:5: font 'notes.otf' has PostScript (CFF) outlines, which cannot be embedded; "
            "use a TrueType (.ttf) font",
        ),
        (
            "notes.ttc",
            b"ttcf" + bytes(200),
            "9:8: font 'notes.ttc' is a font collection (.ttc); use a single TrueType (.ttf) font",
        ),
        (
            "[cut.ttf]",
            b"\x00\x01\x00\x00" + bytes(8),
            "9:9: font 'cut.ttf' cannot be read as a TrueType font (it has no 'name' table)",
        ),
        ("{name: boxes.ttf}", None, "9:8: 'fonts' is a list, one entry per line starting with"),
    ],
)
def test_a_bad_fonts_entry_is_a_located_validation_error(
    tmp_path: Path, fonts: str, file: bytes | None, expected: str
) -> None:
    actions = configured(tmp_path, LAYOUT + f"fonts: {fonts}\n")
    make_font(tmp_path / "templates" / "boxes.ttf", "李")
    if file is not None:
        name = next(n for n in ("notes.ttf", "notes.otf", "notes.ttc", "cut.ttf") if n in fonts)
        (tmp_path / "templates" / name).write_bytes(file)
    layout = tmp_path / "templates" / "certificate.pdf.yaml"
    problems = validate_all(actions)
    assert len(problems) == 1 and problems[0].startswith(f"{layout}:{expected}"), problems


def test_a_run_fails_only_the_delivery_whose_name_no_font_can_draw(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    configured(tmp_path)
    persons = """
        person_id,first_name,infix,last_name,email
        P1,Bram,van der,Berg,bram@example.org
        P2,小龍,,李,lee@example.org
    """
    results = """
        part_id,person_id,passed,registered_at
        C1-4,P1,yes,2026-11-05 18:00
        C1-4,P2,yes,2026-11-05 18:00
    """
    attendance = "\n".join(
        ["part_id,person_id,present,registered_at"]
        + [f"C1-{d},P{p},yes,2026-11-0{d + 1} 17:00" for d in range(1, 5) for p in (1, 2)]
    )
    folder = export(persons=persons, results=results, attendance=attendance)
    assert cli("import", str(folder), "--now", "2026-11-06T08:00", cwd=tmp_path).returncode == 0
    ran = cli(
        "run-due",
        "--now",
        "2026-11-06T09:00",
        "--transport",
        "dir",
        "--out",
        "outbox",
        "--json",
        cwd=tmp_path,
    )
    assert ran.returncode == 3, ran.stderr  # one delivery not accepted, the rest sent
    states = {d["person"]: (d["state"], d["error"]) for d in json.loads(ran.stdout)["deliveries"]}
    assert states["P1"] == ("sent", None)
    assert states["P2"][0] == "failed" and "'李' (U+674E)" in states["P2"][1]
    assert 'in "小龍 李"; add a font that has them under fonts:' in states["P2"][1]


def test_a_fallback_font_with_the_shipped_font_s_name_keeps_its_own_glyphs(
    tmp_path: Path,
) -> None:
    # a full DejaVuSerif.ttf listed as a fallback has the PostScript name of the cut-down
    # shipped one; ReportLab keeps one font per name
    layout = compiled(layout_file(tmp_path, fallback="李", font_name="DejaVuSerif"))
    data = certificate(layout, full_name="Zoë 李")
    assert "Zoë 李" in page_text(data)
    assert embedded_fonts(data) - {"DejaVuSerif", "DejaVuSerif-Bold"}  # the fallback, renamed
    # in a fresh process, with the fallback read before the shipped faces
    script = (
        "import sys; from pathlib import Path; "
        "from reportlab.pdfbase import pdfmetrics; "
        "from certify.render.glyphs import FONT, fallback_face, shipped_font_names; "
        "face = fallback_face(Path(sys.argv[1])); "
        "shipped = pdfmetrics.getFont(shipped_font_names()[0]).face.filename; "
        "print(shipped == str(FONT), sorted(face.codes))"
    )
    font = str(tmp_path / "boxes.ttf")
    ran = subprocess.run(
        [sys.executable, "-c", script, font], capture_output=True, text=True, check=True
    )
    assert ran.stdout.split() == ["True", "[26446]"]


@pytest.mark.parametrize(
    ("language", "name"), [("en", "Certificate"), ("nl-NL", "Certificaat"), ("", "Certificaat")]
)
def test_an_attachment_without_a_filename_is_named_in_the_persons_language(
    tmp_path: Path, language: str, name: str
) -> None:
    actions = configured(tmp_path)  # locale: nl, for a person without a language
    text = actions.read_text()
    actions.write_text(
        text.replace('        filename: "Certificate - [Course:Name] - [Person:FullName]"\n', "")
    )
    config = load(actions)
    templates = Templates(config)
    assert templates.problems == []
    context = sample_context(NOW)
    context["person"].update(full_name="Zoë Öztürk", language=language or None)
    context["course"]["name"] = "Display training"
    message = render_message(templates, config.actions[0], context, message_id="<m@x>", sent_at=NOW)
    (attachment,) = list(message_from_bytes(message.data, policy=policy.default).iter_attachments())
    assert attachment.get_filename() == f"{name} - Display training - Zoë Öztürk.pdf"


def test_texts_without_jinja_are_drawn_as_written_and_the_others_per_certificate(
    tmp_path: Path,
) -> None:
    layout = Templates(load(configured(tmp_path))).layouts["certificate"][None]
    assert layout.fixed == {
        "organisation": "Training office",
        "title": "Certificate",
        "signature.name": "",
        "signature.role": "",
    }
    for name in ("Anna Berg", "Zoë Öztürk"):
        lines = [
            line.strip() for line in page_text(certificate(layout, full_name=name)).splitlines()
        ]
        assert lines[:3] == ["TRAINING  OFFICE", "Certificate", name]
