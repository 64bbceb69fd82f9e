"""Certificate PDFs: an editable YAML layout, rendered per delivery with an embedded font.

A layout (`templates/NAME.pdf.yaml`) names the organisation, an optional logo, a title,
centred lines of text and a signature; every text is a Jinja template with the same
variables, merge fields and checks as the e-mails. Rendering returns bytes; no I/O.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from jinja2 import Template
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from certify.located import parse_yaml, validation_problems

FONT = files("certify") / "fonts" / "DejaVuSerif.ttf"
FONT_BOLD = files("certify") / "fonts" / "DejaVuSerif-Bold.ttf"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


class MissingGlyphs(ValueError):
    """A text that no font of the layout can draw: a fault of one person's data."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Line(_Strict):
    text: str
    size: float = Field(14, gt=0, le=96, description="font size in points")
    bold: bool = False
    space_before: float = Field(0, ge=0, description="extra space above, in millimetres")


class Signature(_Strict):
    name: str = ""
    role: str = ""
    image: str | None = Field(None, description="an image file in the templates folder")


class Layout(_Strict):
    page: Literal["A4-landscape", "A4-portrait", "Letter-landscape"] = "A4-landscape"
    organisation: str = ""
    logo: str | None = Field(None, description="an image file in the templates folder")
    title: str = "Certificate"
    accent: str = "#b08d3c"
    text_color: str = "#1d2a3a"
    lines: list[Line]
    signature: Signature = Field(default_factory=Signature)
    footer: str = ""

    @field_validator("accent", "text_color")
    @classmethod
    def _color(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError(f"{value!r} is not a colour (#rrggbb, such as #b08d3c)")
        return value


@dataclass
class CompiledLayout:
    """A layout whose texts are compiled templates, ready to render many times."""

    layout: Layout
    directory: Path
    texts: dict[str, Template]  # "title", "organisation", "lines.0", "signature.name", ...


def load_layout(
    path: Path, compile_text: Any, translate: Any
) -> tuple[CompiledLayout | None, list[str]]:
    """Read and check one layout; `compile_text(name, source, file, line)` compiles a text."""
    file = str(path)
    if not path.is_file():
        return None, [f"{file}: not found (a certificate layout, NAME.pdf.yaml)"]
    data, positions, problems = parse_yaml(path.read_text(encoding="utf-8-sig"), file)
    if problems:
        return None, problems
    try:
        layout = Layout.model_validate(data)
    except ValidationError as exc:
        return None, validation_problems(exc, Layout, file, positions)
    for image in (layout.logo, layout.signature.image):
        if image and not (path.parent / image).is_file():
            problems.append(f"{file}: image {image!r} not found next to the layout")
    texts: dict[str, Template] = {}
    sources: dict[str, tuple[str, tuple[Any, ...]]] = {
        "organisation": (layout.organisation, ("organisation",)),
        "title": (layout.title, ("title",)),
        "footer": (layout.footer, ("footer",)),
        "signature.name": (layout.signature.name, ("signature", "name")),
        "signature.role": (layout.signature.role, ("signature", "role")),
    }
    for index, text_line in enumerate(layout.lines):
        sources[f"lines.{index}"] = (text_line.text, ("lines", index, "text"))
    for name, (source, loc) in sources.items():
        line = positions.get(loc, (1, 1))[0]
        translated, merge_problems = translate(source, file, line - 1)
        problems.extend(merge_problems)
        compiled = compile_text(f"{file}#{name}", translated, file, line - 1)
        if compiled is not None:
            texts[name] = compiled
    if problems:
        return None, problems
    return CompiledLayout(layout, path.parent, texts), []


def _rgb(color: str) -> tuple[float, float, float]:
    return int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255


def _one_line(value: str) -> str:
    return " ".join(value.split())


_PAGES = {
    "A4-landscape": landscape(A4),
    "A4-portrait": A4,
    "Letter-landscape": landscape(letter),
}


@cache
def _fonts() -> tuple[str, str]:
    """Register the shipped faces once per process; ReportLab subsets them per document."""
    pdfmetrics.registerFont(TTFont("CertifySerif", str(FONT)))
    pdfmetrics.registerFont(TTFont("CertifySerif-Bold", str(FONT_BOLD)))
    return "CertifySerif", "CertifySerif-Bold"


@cache
def _image(path: Path) -> ImageReader:
    return ImageReader(str(path))


def render_pdf(compiled: CompiledLayout, context: Mapping[str, Any]) -> bytes:
    """One certificate as PDF bytes."""
    layout = compiled.layout
    text = {name: _one_line(template.render(context)) for name, template in compiled.texts.items()}
    regular, bold = _fonts()
    width, height = _PAGES[layout.page]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(
        buffer, pagesize=(width, height), pageCompression=1, initialFontName=regular
    )
    pdf.setTitle(text["title"])
    pdf.setAuthor(text["organisation"])
    pdf.setCreator("certify")
    accent, ink = _rgb(layout.accent), _rgb(layout.text_color)
    # a double frame
    pdf.setStrokeColorRGB(*accent)
    pdf.setLineWidth(3.4)
    pdf.rect(28, 28, width - 56, height - 56)
    pdf.setLineWidth(1.1)
    pdf.rect(40, 40, width - 80, height - 80)
    y = height - 68
    if layout.logo:
        pdf.drawImage(
            _image(compiled.directory / layout.logo), width / 2 - 31, y - 62, 62, 62, mask="auto"
        )
        y -= 80
    if text["organisation"]:
        pdf.setFillColorRGB(*accent)
        pdf.setFont(regular, 11)
        pdf.drawCentredString(
            width / 2, y - 11, "  ".join(text["organisation"].upper().split(" ")), charSpace=2
        )
        y -= 24
    pdf.setFillColorRGB(*ink)
    y = _centred(pdf, text["title"], bold, 34, y, width)
    y -= 6
    for index, text_line in enumerate(layout.lines):
        content = text[f"lines.{index}"]
        if not content:
            continue  # a line whose template renders empty is left out
        y -= text_line.space_before * 72 / 25.4
        y = _centred(pdf, content, bold if text_line.bold else regular, text_line.size, y, width)
    # signature, bottom left; footer (the certificate number), bottom right
    bottom = 108.0
    if layout.signature.image:
        pdf.drawImage(
            _image(compiled.directory / layout.signature.image),
            130,
            bottom + 4,
            height=46,
            width=150,
            preserveAspectRatio=True,
            mask="auto",
        )
    if text["signature.name"] or text["signature.role"]:
        pdf.setStrokeColorRGB(*ink)
        pdf.setLineWidth(0.8)
        pdf.line(100, bottom, 330, bottom)
        pdf.setFont(regular, 11)
        pdf.drawCentredString(215, bottom - 15, text["signature.name"])
        pdf.setFont(regular, 9)
        pdf.drawCentredString(215, bottom - 28, text["signature.role"])
    if text["footer"]:
        pdf.setFont(regular, 10)
        pdf.drawCentredString(width - 215, bottom - 15, text["footer"])
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _centred(
    pdf: canvas.Canvas, content: str, font: str, size: float, y: float, width: float
) -> float:
    """Centred text, wrapped to the page; returns the baseline below it."""
    pdf.setFont(font, size)
    for line in simpleSplit(content, font, size, width - 160):
        y -= size * 1.25
        pdf.drawCentredString(width / 2, y, line)
    return y


_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')


def attachment_file_name(text: str, extension: str = ".pdf") -> str:
    """A file name a participant can keep on any system: `Certificate - Course - Name.pdf`."""
    name = unicodedata.normalize("NFC", _UNSAFE.sub(" ", text))
    name = " ".join(name.split()).strip(" .")
    if name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    # keep well under the 255-byte limit of most file systems, in UTF-8
    while len(name.encode("utf-8")) > 150:
        name = name[:-1]
    name = name.rstrip(" .")
    return (name or "certificate") + extension
