"""Fonts and images encoded once per process: the PDFs stay what ReportLab itself writes."""

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from certify.render import embedded
from certify.render.embedded import SubsetCachingFont, draw_image
from certify.render.glyphs import FONT
from tests.helpers import ROOT

LOGO = ROOT / "templates" / "logo.png"


@pytest.fixture
def invariant() -> Iterator[None]:
    """Repeatable PDFs: no creation date, a fixed document ID."""
    rl_config.invariant = 1
    yield
    rl_config.invariant = 0


def one_page(draw: Callable[[canvas.Canvas], None]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(400, 300), pageCompression=1)
    draw(pdf)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def lines(font: str, *texts: str) -> Callable[[canvas.Canvas], None]:
    def draw(pdf: canvas.Canvas) -> None:
        pdf.setFont(font, 14)
        for index, text in enumerate(texts):
            pdf.drawString(20, 250 - 20 * index, text)

    return draw


def fresh(monkeypatch: pytest.MonkeyPatch, font: TTFont) -> str:
    """`font` under its own name (registerFont would hand out the first font of its face)."""
    monkeypatch.setitem(pdfmetrics._fonts, font.fontName, font)
    return str(font.fontName)


def test_a_font_s_subsets_are_byte_for_byte_reportlab_s_made_anew_or_shared(
    invariant: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock_font = fresh(monkeypatch, TTFont("TestSerif", str(FONT)))
    font = SubsetCachingFont("TestSerif", str(FONT))
    texts = [
        ("Zoë Öztürk", "Certificaat 2027 · code 7K3M"),
        ("Öztürk Zoë", "Certificaat 2027 · code 7K3M"),  # the same characters, another order
        ("Zoë Öztürk", "Certificaat 2027 · code 7K3M"),  # a subset made before
        ("Anna Berg", "Ελληνικά Кириллица"),
    ]
    stock = [one_page(lines(stock_font, *text)) for text in texts]
    shared_font = fresh(monkeypatch, font)
    assert [one_page(lines(shared_font, *text)) for text in texts] == stock
    assert len(font._subsets) == 3  # one per character list


def test_certificates_sharing_a_subset_each_show_their_own_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    font = fresh(monkeypatch, SubsetCachingFont("TestSerif", str(FONT)))
    for name in ("Chloé Dijkstra", "Éloïse Berg", "Chloé Visser", "Zoë Koç"):
        data = one_page(lines(font, name, "2027-000001-0"))
        text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
        assert text.splitlines() == [name, "2027-000001-0"]


def test_the_subsets_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "SUBSETS_KEPT", 2)
    font = SubsetCachingFont("TestSerif", str(FONT))
    for name in ("Zoë", "Chloé", "Koç", "Zoë"):
        one_page(lines(fresh(monkeypatch, font), name))
    kept = font._subsets
    # the first character past ASCII takes code 1: the most recent two are kept
    assert [codes[1] for _, codes in kept] == [ord("ç"), ord("ë")]


def rendered(data: bytes) -> bytes:
    pdfium = pytest.importorskip("pypdfium2")
    return bytes(pdfium.PdfDocument(data)[0].render(scale=2).to_pil().tobytes())


@pytest.mark.parametrize(
    ("box", "preserve"),
    [((150, 100, 62, 62), False), ((20, 20, 150, 46), True), ((300, 10, 40, 90), True)],
)
def test_an_image_encoded_once_looks_as_reportlab_draws_it(
    box: tuple[float, float, float, float], preserve: bool
) -> None:
    def stock(pdf: canvas.Canvas) -> None:
        pdf.drawImage(str(LOGO), *box, preserveAspectRatio=preserve, mask="auto")

    def shared(pdf: canvas.Canvas) -> None:
        draw_image(pdf, LOGO, *box, preserve)

    first, again = one_page(shared), one_page(shared)
    assert rendered(first) == rendered(one_page(stock))
    assert rendered(again) == rendered(first)


def test_one_image_drawn_twice_is_embedded_once(tmp_path: Path) -> None:
    def twice(pdf: canvas.Canvas) -> None:
        draw_image(pdf, LOGO, 10, 10, 62, 62)
        draw_image(pdf, LOGO, 200, 10, 150, 46, True)

    page = PdfReader(io.BytesIO(one_page(twice))).pages[0]
    images = page["/Resources"]["/XObject"]
    assert len(images) == 1
    (image,) = images.values()
    assert "/SMask" in image.get_object()  # the logo's transparency is kept


def test_reportlab_formats_numbers_and_measures_text_in_c() -> None:
    from reportlab.lib import rl_accel

    # without its accelerator ReportLab falls back to Python, a tenth slower per certificate
    assert {"fp_str", "instanceStringWidthTTF", "escapePDF"}.isdisjoint(rl_accel._py_funcs)


def test_a_centred_line_is_written_as_reportlab_s_draw_centred_string() -> None:
    from certify.render.glyphs import shipped_font_names
    from certify.render.placing import centred_line

    regular, bold = shipped_font_names()
    face = pdfmetrics.getFont(regular).face
    many = "".join(chr(c) for c in sorted(face.charToGlyph) if c > 0x20)[:400]  # two subsets
    texts = [
        (regular, "Hierbij verklaren wij dat", 14, 0.0),
        (bold, "Zoë Öztürk (Koç) \\ 100%", 34, 0.0),
        (regular, "OPLEIDINGSBUREAU", 11, 2.0),
        (regular, many, 6, 0.5),
    ]
    for name, text, size, char_space in texts:
        stock, ours = (canvas.Canvas(io.BytesIO()) for _ in range(2))
        stock.setFont(name, size)
        stock.drawCentredString(300, 200, text, charSpace=char_space)
        centred_line(ours, name, text, size, 300, 200, char_space)
        assert ours._code == stock._code
    assert re.search(r"/F\d+\+1 ", " ".join(ours._code))  # the long line reached a second subset
