"""Certificate PDFs: an editable YAML layout, rendered per delivery with an embedded font.

A layout (`templates/NAME.pdf.yaml`) names the organisation, an optional logo, a title,
centred lines of text and a signature; every text is a Jinja template with the same
variables, merge fields and checks as the e-mails. Rendering returns bytes; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from fpdf import FPDF
from fpdf.enums import TextMode
from jinja2 import Template
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from certify.config import KEY_MARK, parse_yaml

FONT = files("certify") / "fonts" / "DejaVuSerif.ttf"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


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
        messages = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            place = (*loc, KEY_MARK) if error["type"] == "extra_forbidden" else loc
            while place and place not in positions:
                place = place[:-1]
            line, column = positions.get(place, (1, 1))
            what = (
                f"unknown key '{loc[-1]}'"
                if error["type"] == "extra_forbidden"
                else str(error["msg"]).removeprefix("Value error, ")
            )
            messages.append(f"{file}:{line}:{column}: {'.'.join(map(str, loc))}: {what}")
        return None, messages
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


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def render_pdf(compiled: CompiledLayout, context: Mapping[str, Any]) -> bytes:
    """One certificate as PDF bytes."""
    layout = compiled.layout
    text = {name: _one_line(template.render(context)) for name, template in compiled.texts.items()}
    size, orientation = layout.page.split("-")
    pdf = FPDF(orientation="L" if orientation == "landscape" else "P", format=size)
    pdf.set_auto_page_break(False)
    pdf.set_title(text["title"])
    pdf.set_author(text["organisation"])
    pdf.set_creator("certify")
    pdf.add_font("Serif", "", str(FONT))
    pdf.add_page()
    width, height = pdf.w, pdf.h
    accent, ink = _rgb(layout.accent), _rgb(layout.text_color)
    # a double frame
    pdf.set_draw_color(*accent)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, width - 28, height - 28)
    y = 24.0
    if layout.logo:
        pdf.image(str(compiled.directory / layout.logo), x=width / 2 - 11, y=y, w=22, h=22)
        y += 26
    pdf.set_y(y)
    if text["organisation"]:
        pdf.set_text_color(*accent)
        pdf.set_font("Serif", "", 11)
        pdf.set_char_spacing(2)
        pdf.cell(0, 7, text["organisation"].upper(), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_char_spacing(0)
    pdf.set_text_color(*ink)
    _line(pdf, text["title"], 34, bold=True, color=ink)
    pdf.ln(2)
    for index, text_line in enumerate(layout.lines):
        content = text[f"lines.{index}"]
        if not content:
            continue  # a line whose template renders empty is left out
        if text_line.space_before:
            pdf.ln(text_line.space_before)
        _line(pdf, content, text_line.size, bold=text_line.bold, color=ink)
    # signature, bottom left; footer (the certificate number), bottom right
    bottom = height - 38
    if layout.signature.image:
        pdf.image(str(compiled.directory / layout.signature.image), x=40, y=bottom - 18, h=16)
    if text["signature.name"] or text["signature.role"]:
        pdf.set_draw_color(*ink)
        pdf.set_line_width(0.3)
        pdf.line(36, bottom, 116, bottom)
        pdf.set_xy(36, bottom + 2)
        pdf.set_font("Serif", "", 11)
        pdf.cell(80, 6, text["signature.name"], align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font("Serif", "", 9)
        pdf.cell(80, 5, text["signature.role"], align="C")
    if text["footer"]:
        pdf.set_xy(width - 126, bottom + 2)
        pdf.set_font("Serif", "", 10)
        pdf.cell(90, 6, text["footer"], align="C")
    return bytes(pdf.output())


def _line(pdf: FPDF, content: str, size: float, *, bold: bool, color: tuple[int, int, int]) -> None:
    pdf.set_font("Serif", "", size)
    if bold:
        # one embedded face keeps certificates fast and small; emphasis is drawn by
        # outlining the glyphs in their own colour (a stroke proportional to the size)
        pdf.text_mode = TextMode.FILL_STROKE
        pdf.set_draw_color(*color)
        pdf.set_line_width(size * 0.012)
    pdf.multi_cell(0, size * 0.55, content, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.text_mode = TextMode.FILL


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}  # fmt: skip
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
