"""Where a certificate's elements go: text set smaller, then wrapped, to fit its place, and
the QR code of the verification URL. Nothing is drawn over another element or off the page.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import Field, field_validator
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from certify.errors import MissingGlyphs
from certify.locale import _
from certify.render.glyphs import FontChain
from certify.render.qrcode import dark_runs, qr_rows
from certify.yamlfile import Strict

_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mm|cm|pt)?\s*$")
_POINTS = {"mm": 72 / 25.4, "cm": 72 / 2.54, "pt": 1.0, None: 72 / 25.4}
SMALLEST = 6.0  # points: below this no text is set, whatever a layout says
SHRINK_TO = 0.6  # a text is set down to this part of its size before it is wrapped
GAP = 8.0  # points kept free between elements


def points(value: Any) -> float:
    """A length of a layout (`30mm`, `3cm`, `85pt`, or a number of millimetres) in points."""
    match = _LENGTH.match(str(value))
    if match is None:
        raise ValueError(_("{value} is not a length (30mm, 3cm or 85pt)").format(value=repr(value)))
    return float(match[1]) * _POINTS[match[2]]


class Qr(Strict):
    """A QR code of the certificate's verification URL (certificates.verify_url)."""

    size: str = Field("30mm", description="its width and height: 30mm, 3cm or 85pt")
    x: str | None = Field(None, description="its left edge from the page's left (default: right)")
    y: str | None = Field(None, description="its lower edge from the page's bottom (default: 52pt)")

    @field_validator("size", "x", "y", mode="before")
    @classmethod
    def _length(cls, value: Any) -> Any:
        if value is None:
            return None
        points(value)
        return str(value)

    def box(self, width: float, height: float) -> tuple[float, float, float]:
        """(x, y, size) in points; by default in the bottom right corner, inside the frame."""
        size = points(self.size)
        x = points(self.x) if self.x is not None else width - 52 - size
        y = points(self.y) if self.y is not None else 52.0
        if x < 0 or y < 0 or x + size > width or y + size > height or size < 36:
            raise ValueError(
                _(
                    "the QR code ({size} at {x}, {y} pt) does not lie on the page or is smaller "
                    "than 36 pt (13mm), too small to scan"
                ).format(size=self.size, x=f"{x:.0f}", y=f"{y:.0f}")
            )
        return x, y, size


def draw_qr(pdf: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    """The QR code of `url`, `size` points wide (level M), its dark runs filled as one
    path written on a grid of whole modules, so no coordinate is a fraction to format (a
    shape per module, ReportLab's widget's way, is ten times slower)."""
    rows = qr_rows(url)
    count = len(rows)
    path = "\n".join(
        f"{column} {count - 1 - row} {length} 1 re" for row, column, length in dark_runs(rows)
    )
    module = size / count
    pdf.saveState()
    pdf.setFillColorRGB(0, 0, 0)
    pdf.transform(module, 0, 0, module, x, y)
    pdf.addLiteral(path + "\nf")
    pdf.restoreState()


def centred_line(
    pdf: canvas.Canvas,
    font_name: str,
    content: str,
    size: float,
    x: float,
    y: float,
    char_space: float = 0,
) -> None:
    """`pdf.drawCentredString` in one face, written as ReportLab writes it, without the text
    object it builds per line: a certificate draws a dozen."""
    pdf.setFont(font_name, size)
    font = pdfmetrics.getFont(font_name)
    width = font.stringWidth(content, size) + char_space * (len(content) - 1)
    doc = pdf._doc
    code = ["BT", f"1 0 0 1 {fp_str(x - 0.5 * width, y)} Tm"]
    if char_space:
        code.append(f"{fp_str(char_space)} Tc")
    sized = f"{fp_str(size)} Tf {fp_str(pdf._leading)} TL"
    shown, current = [], -1
    for subset, part in font.splitString(content, doc):
        if subset != current:
            shown.append(f"{font.getSubsetInternalName(subset, doc)} {sized}")
            current = subset
        shown.append(f"({escapePDF(part)}) Tj")
    code.append(" ".join(shown) + " T*")
    if char_space:
        code.append("0 Tc")
    code.append("ET")
    pdf._code.append(" ".join(code))


def quiet_zone(size: float) -> float:
    """The free space a QR code needs around it: 4 modules (of a code up to 41 wide), at
    least GAP."""
    return max(GAP, size * 4 / 41)


class DoesNotFit(MissingGlyphs):
    """A text too long for its place even set smaller and wrapped: like a name no font can
    draw, a fault of one person's data that fails that one certificate."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem], [])


def fitted_size(chain: FontChain, content: str, size: float, limit: float) -> float:
    """The largest size, from `size` down to its smallest, at which `content` is one line
    no wider than `limit`; the smallest when none is."""
    smallest = max(SMALLEST, size * SHRINK_TO)
    current = size
    while current > smallest and chain.width(chain.runs(content), current) > limit:
        current = max(smallest, current - 0.5)
    return current


def one_line_size(
    chain: FontChain, content: str, size: float, limit: float, char_space: float = 0
) -> float | None:
    """The size at which `content` fits `limit` on one line, set smaller if need be; None
    when even the smallest is too wide."""
    smallest = max(SMALLEST, size * SHRINK_TO)
    current = size
    while True:
        wide = chain.width(chain.runs(content), current) + char_space * max(len(content) - 1, 0)
        if wide <= limit:
            return current
        if current <= smallest:
            return None
        current = max(smallest, current - 0.5)


def wrap(chain: FontChain, content: str, size: float, limit: float) -> list[str]:
    """`content` in lines no wider than `limit`, broken at spaces.

    Text in the shipped face alone wraps as it always has (a long word stays whole); with
    other faces, a word wider than the line (Chinese or Japanese, written without spaces)
    is broken between its characters.
    """
    if chain.first.issuperset(content):
        return simpleSplit(content, chain.faces[0].name, size, limit)  # type: ignore[no-any-return]

    def fits(candidate: str) -> bool:
        return chain.width(chain.runs(candidate), size) <= limit

    lines: list[str] = []
    line = ""
    for word in content.split(" "):
        candidate = f"{line} {word}" if line else word
        if fits(candidate):
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:  # only a word too wide for a line of its own is broken up
            if line and not unicodedata.combining(char) and not fits(line + char):
                lines.append(line)
                line = ""
            line += char
    return [*lines, line] if line else lines
