"""Certificate PDFs: an editable YAML layout, rendered per delivery with an embedded font.

A layout (`templates/NAME.pdf.yaml`) names the organisation, an optional logo, a title,
centred lines of text and a signature; every text is a Jinja template with the same
variables, merge fields and checks as the e-mails. Rendering returns bytes; no I/O.

The shipped DejaVu Serif draws Latin, Greek and Cyrillic. A layout may name fallback fonts
(`fonts:`), tried in order for any character the shipped face lacks; a character no font
can draw raises `MissingGlyphs` for that one certificate instead of being left out. Which
font draws which character, and in what order, is `glyphs.py`.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jinja2 import Template
from pydantic import Field, ValidationError, field_validator
from reportlab import rl_config
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.pdfgen import canvas

from certify.errors import MissingGlyphs
from certify.locale import _
from certify.render.embedded import draw_image
from certify.render.glyphs import (
    FontChain,
    check_drawable,
    font_chains,
    font_problem,
    shipped_font_names,
)
from certify.render.placing import (
    GAP,
    DoesNotFit,
    Qr,
    centred_line,
    draw_qr,
    fitted_size,
    one_line_size,
    quiet_zone,
    wrap,
)
from certify.yamlfile import Positions, Strict, parse_yaml, validation_problems, where

# render_pdf raises MissingGlyphs (of certify.errors), so it is named here too
__all__ = [
    "CompiledLayout",
    "Layout",
    "Line",
    "MissingGlyphs",
    "Signature",
    "attachment_file_name",
    "load_layout",
    "render_pdf",
    "undrawable",
]

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

# streams are written as compressed bytes, not in ASCII base 85 as well: a fifth smaller, and
# the logo is not encoded a second time for every certificate
rl_config.useA85 = 0


class Line(Strict):
    text: str
    size: float = Field(14, gt=0, le=96, description="font size in points")
    bold: bool = False
    space_before: float = Field(0, ge=0, description="extra space above, in millimetres")


class Signature(Strict):
    name: str = ""
    role: str = ""
    image: str | None = Field(None, description="an image file in the templates folder")


class Layout(Strict):
    page: Literal["A4-landscape", "A4-portrait", "Letter-landscape"] = "A4-landscape"
    organisation: str = ""
    logo: str | None = Field(None, description="an image file in the templates folder")
    title: str = "Certificate"
    accent: str = "#b08d3c"
    text_color: str = "#1d2a3a"
    lines: list[Line]
    signature: Signature = Field(default_factory=Signature)
    footer: str = ""
    qr: Qr | None = Field(
        None, description="a QR code of the certificate's verification URL: {size: 30mm}"
    )
    fonts: list[str] = Field(
        default_factory=list,
        description="TrueType files in the templates folder, tried in order for characters "
        "the shipped font lacks",
    )

    @field_validator("fonts", mode="before")
    @classmethod
    def _one_font(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # `fonts: x.ttf` means a list of one

    @field_validator("accent", "text_color")
    @classmethod
    def _color(cls, value: str) -> str:
        if not _HEX.match(value):
            raise ValueError(_("{value} is not a colour (#rrggbb, such as #b08d3c)").format(
                value=repr(value)))  # fmt: skip
        return value


@dataclass
class CompiledLayout:
    """A layout whose texts are compiled templates, ready to render many times."""

    layout: Layout
    directory: Path
    texts: dict[str, Template]  # "title", "organisation", "lines.0", "signature.name", ...
    file: str = ""  # the layout as named in messages
    text_lines: dict[str, int] = field(default_factory=dict)  # text name → its line in the file
    fonts: tuple[Path, ...] = ()  # the fallback fonts, resolved
    fixed: dict[str, str] = field(default_factory=dict)  # texts without Jinja: as drawn


def load_layout(
    path: Path, compile_text: Any, translate: Any
) -> tuple[CompiledLayout | None, list[str]]:
    """Read and check one layout; `compile_text(name, source, file, line)` compiles a text."""
    file = str(path)
    if not path.is_file():
        return None, [f"{file}: " + _("not found (a certificate layout, NAME.pdf.yaml)")]
    data, positions, problems = parse_yaml(path.read_text(encoding="utf-8-sig"), file)
    if problems:
        return None, problems
    try:
        layout = Layout.model_validate(data)
    except ValidationError as exc:
        return None, validation_problems(exc, Layout, file, positions)
    for image in (layout.logo, layout.signature.image):
        if image and not (path.parent / image).is_file():
            said = _("image {image} not found next to the layout").format(image=repr(image))
            problems.append(f"{file}: {said}")
        elif image and (problem := _image_problem(path.parent / image)):
            problems.append(f"{file}: " + _("image {image} {problem}").format(
                image=repr(image), problem=problem))  # fmt: skip
    fonts = _check_fonts(layout.fonts, path.parent, file, positions, problems)
    texts: dict[str, Template] = {}
    text_lines: dict[str, int] = {}
    fixed: dict[str, str] = {}
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
        text_lines[name] = line
        translated, merge_problems = translate(source, file, line - 1)
        problems.extend(merge_problems)
        compiled = compile_text(f"{file}#{name}", translated, file, line - 1)
        if compiled is not None:
            texts[name] = compiled
        if "{" not in translated:  # no Jinja: every certificate draws the text as written
            fixed[name] = _one_line(translated)
    if problems:
        return None, problems
    return CompiledLayout(layout, path.parent, texts, file, text_lines, fonts, fixed), []


def _check_fonts(
    names: list[str], directory: Path, file: str, positions: Positions, problems: list[str]
) -> tuple[Path, ...]:
    """The fallback fonts, each read (and registered) once; problems located at the entry."""
    fonts: list[Path] = []
    for index, name in enumerate(names):
        at = where(file, positions, ("fonts", index))
        font = (directory / name).resolve()
        if not font.is_file():
            said = _("font {font} not found next to the layout").format(font=repr(name))
            problems.append(f"{at}: {said}")
            continue
        unusable = font_problem(font)
        if unusable:
            said = _("font {font} {problem}").format(font=repr(name), problem=unusable)
            problems.append(f"{at}: {said}")
            continue
        fonts.append(font)
    return tuple(fonts)


def _rgb(color: str) -> tuple[float, float, float]:
    return int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255


def _one_line(value: str) -> str:
    # NFC: a name typed as "e" + combining accent is drawn with the font's own "é"
    return unicodedata.normalize("NFC", " ".join(value.split()))


_PAGES = {
    "A4-landscape": landscape(A4),
    "A4-portrait": A4,
    "Letter-landscape": landscape(letter),
}


def undrawable(compiled: CompiledLayout, text: str) -> list[str]:
    """The characters of `text` that the layout's fonts cannot draw, regular or bold."""
    text = _one_line(text)
    found: dict[str, None] = {}
    for chain in font_chains(compiled.fonts):
        absent, shaped = chain.missing(text)
        found.update(dict.fromkeys(absent + shaped))
    return list(found)


IMAGE_PIXELS = 25_000_000  # a logo or signature needs far fewer; more is a decompression bomb


def _image_problem(path: Path) -> str | None:
    """Why an image cannot go on a certificate, read from its header alone (a small file can
    claim billions of pixels that would fill the memory when decoded)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _("has more pixels than an image may have (at most {most})").format(
            most=f"{IMAGE_PIXELS:,}"
        )
    except (OSError, SyntaxError, ValueError) as exc:
        return _("cannot be read as an image (PNG or JPEG): {reason}").format(reason=exc)
    if width * height > IMAGE_PIXELS:
        return _(
            "is {width} × {height} pixels; at most {most} in all (scale it down: it is "
            "printed a few centimetres wide)"
        ).format(width=width, height=height, most=f"{IMAGE_PIXELS:,}")
    return None


def render_pdf(compiled: CompiledLayout, context: Mapping[str, Any]) -> bytes:
    """One certificate as PDF bytes; `MissingGlyphs` if a text has a character no font draws."""
    layout = compiled.layout
    fixed = compiled.fixed
    text = {
        name: fixed[name] if name in fixed else _one_line(template.render(context))
        for name, template in compiled.texts.items()
    }
    regular = shipped_font_names()[0]
    plain, strong = font_chains(compiled.fonts)
    organisation = "  ".join(text["organisation"].upper().split(" "))
    drawn = {
        "organisation": (organisation, plain),
        "title": (text["title"], strong),
        **{
            f"lines.{i}": (text[f"lines.{i}"], strong if line.bold else plain)
            for i, line in enumerate(layout.lines)
        },
        "signature.name": (text["signature.name"], plain),
        "signature.role": (text["signature.role"], plain),
        "footer": (text["footer"], plain),
    }
    check_drawable(drawn, lambda name: f"{compiled.file}:{compiled.text_lines.get(name, 1)}")
    width, height = _PAGES[layout.page]
    qr_box = layout.qr.box(width, height) if layout.qr else None
    verify_url = str((context.get("certificate") or {}).get("verify_url") or "")
    if qr_box and not verify_url:
        raise ValueError(
            _("qr: needs certificates.verify_url in actions.yaml (with {{code}})").format()
        )

    def unfit(name: str, content: str, why: str) -> DoesNotFit:
        place = f"{compiled.file}:{compiled.text_lines.get(name, 1)}"
        shown = content if len(content) <= 60 else content[:57] + "..."
        return DoesNotFit(f"{place}: {shown!r} {why}")

    buffer = io.BytesIO()
    pdf = canvas.Canvas(
        buffer, pagesize=(width, height), pageCompression=1, initialFontName=regular
    )
    person, course = context.get("person") or {}, context.get("course") or {}
    name = _one_line(str(person.get("full_name") or ""))
    pdf.setTitle(f"{text['title']} - {name}" if name else text["title"])
    pdf.setSubject(_one_line(str(course.get("name") or "")))
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
        draw_image(pdf, compiled.directory / layout.logo, width / 2 - 31, y - 62, 62, 62)
        y -= 80
    if organisation:
        pdf.setFillColorRGB(*accent)
        size = one_line_size(plain, organisation, 11, width - 160, char_space=2)
        if size is None:
            raise unfit("organisation", organisation, _("is too wide for the page"))
        _draw_centred(pdf, plain, organisation, size, width / 2, y - 11, accent, char_space=2)
        y -= 24
    # signature, bottom left; footer (the certificate number), bottom right
    bottom = 108.0
    signed = bool(layout.signature.image or text["signature.name"] or text["signature.role"])
    # the lowest a centred text may reach: above the signature, the footer and the QR code
    floor = (
        max(
            52.0,
            bottom + 50 if layout.signature.image else bottom + 2 if signed else 0,
            bottom - 5 if text["footer"] else 0,
            qr_box[1] + qr_box[2] + quiet_zone(qr_box[2]) - GAP if qr_box else 0,
        )
        + GAP
    )
    pdf.setFillColorRGB(*ink)
    y = _centred(pdf, strong, text["title"], 34, y, width, ink)
    if y < floor:
        raise unfit("title", text["title"], _("does not fit above the bottom of the page"))
    y -= 6
    for index, text_line in enumerate(layout.lines):
        content = text[f"lines.{index}"]
        if not content:
            continue  # a line whose template renders empty is left out
        y -= text_line.space_before * 72 / 25.4
        chain = strong if text_line.bold else plain
        y = _centred(pdf, chain, content, text_line.size, y, width, ink)
        if y - text_line.size * 0.3 < floor:
            raise unfit(
                f"lines.{index}",
                content,
                _("does not fit on the page, even set smaller and wrapped"),
            )
    if layout.signature.image:
        draw_image(pdf, compiled.directory / layout.signature.image, 130, bottom + 4, 150, 46, True)
    if text["signature.name"] or text["signature.role"]:
        pdf.setStrokeColorRGB(*ink)
        pdf.setLineWidth(0.8)
        pdf.line(100, bottom, 330, bottom)
        for name, size, below in (("signature.name", 11, 15), ("signature.role", 9, 28)):
            fitted = one_line_size(plain, text[name], size, 230)
            if fitted is None:
                raise unfit(name, text[name], _("is too wide for the signature (230 pt)"))
            _draw_centred(pdf, plain, text[name], fitted, 215, bottom - below, ink)
    if text["footer"]:
        # between the signature and the QR code (or the frame), as far right as it goes
        left = 330 + GAP if signed else 52.0
        right = width - 52
        if qr_box and qr_box[1] < bottom - 5 and qr_box[0] + qr_box[2] > left:
            right = min(right, qr_box[0] - quiet_zone(qr_box[2]))
        size = one_line_size(plain, text["footer"], 10, right - left)
        if size is None:
            wide = _("is too wide for its place ({width} pt)").format(width=f"{right - left:.0f}")
            raise unfit("footer", text["footer"], wide)
        half = plain.width(plain.runs(text["footer"]), size) / 2
        centre = min(max(width - 215, left + half), right - half)
        _draw_centred(pdf, plain, text["footer"], size, centre, bottom - 15, ink)
    if qr_box:
        draw_qr(pdf, verify_url, *qr_box)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_centred(
    pdf: canvas.Canvas,
    chain: FontChain,
    content: str,
    size: float,
    x: float,
    y: float,
    ink: tuple[float, float, float],
    char_space: float = 0,
) -> None:
    """One line centred on `x`, each run in its own face."""
    runs = chain.runs(content)
    if len(runs) == 1 and runs[0][0] == 0:  # the shipped face alone: one string, as ever
        centred_line(pdf, chain.faces[0].name, runs[0][1], size, x, y, char_space)
        return
    count = sum(len(part) for _, part in runs)
    left = x - (chain.width(runs, size) + char_space * (count - 1)) / 2
    fake_bold = any(index >= chain.fake_bold_from for index, _ in runs)
    if fake_bold:
        # a face without bold: its glyphs are filled and outlined in the text colour
        pdf.saveState()
        pdf.setStrokeColorRGB(*ink)
        pdf.setLineWidth(size * 0.035)
    # one text object, the face switched between runs: readers extract it as one line
    text = pdf.beginText(left, y)
    if char_space:
        text.setCharSpace(char_space)
    mode = 0
    for number, (index, part) in enumerate(runs, 1):
        text.setFont(chain.faces[index].name, size)
        wanted = 2 if index >= chain.fake_bold_from else 0
        if wanted != mode:
            text.setTextRenderMode(wanted)
            mode = wanted
        # the last run ends the line, as drawString does: readers see where the line ends
        (text.textLine if number == len(runs) else text.textOut)(part)
    if mode:
        text.setTextRenderMode(0)
    if char_space:
        text.setCharSpace(0)
    pdf.drawText(text)
    if fake_bold:
        pdf.restoreState()


def _centred(
    pdf: canvas.Canvas,
    chain: FontChain,
    content: str,
    size: float,
    y: float,
    width: float,
    ink: tuple[float, float, float],
) -> float:
    """Centred text, set smaller to fit one line (down to its smallest size), then wrapped to
    the page; returns the baseline below it."""
    size = fitted_size(chain, content, size, width - 160)
    lines = wrap(chain, content, size, width - 160)
    if any(chain.width(chain.runs(line), size) > width - 160 for line in lines):
        return -math.inf  # a word wider than the page: the caller says it does not fit
    for line in lines:
        y -= size * 1.25
        _draw_centred(pdf, chain, line, size, width / 2, y, ink)
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
