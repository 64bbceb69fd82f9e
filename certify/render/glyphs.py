"""Fonts and text runs: which font draws each character of a certificate, and in what order.

The shipped DejaVu Serif faces are registered once per process; a layout's fallback fonts
(`fonts:`) are read once each and tried in order for any character the shipped face lacks.
A text becomes runs of one font each, right-to-left stretches (Hebrew) put in drawing
order. A character no font can draw, or one of a script that needs shaping (Arabic, Indic),
raises `MissingGlyphs` for that one certificate instead of being left out or garbled.
"""

from __future__ import annotations

import itertools
import struct
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFNameBytes

from certify.errors import MissingGlyphs
from certify.locale import _, ngettext
from certify.render.embedded import SubsetCachingFont

FONT = files("certify.render") / "fonts" / "DejaVuSerif.ttf"
FONT_BOLD = files("certify.render") / "fonts" / "DejaVuSerif-Bold.ttf"


@cache
def shipped_font_names() -> tuple[str, str]:
    """Register the shipped faces once per process; each subset is made once per process."""
    pdfmetrics.registerFont(SubsetCachingFont("CertifySerif", str(FONT)))
    pdfmetrics.registerFont(SubsetCachingFont("CertifySerif-Bold", str(FONT_BOLD)))
    return "CertifySerif", "CertifySerif-Bold"


@dataclass(frozen=True, eq=False)
class Face:
    """A registered font and the characters it has a glyph for."""

    name: str
    codes: frozenset[int]


def _face(name: str) -> Face:
    font = pdfmetrics.getFont(name)
    # glyph 0 is "missing": a cmap may map a character to it (format 4 always maps U+FFFF)
    return Face(name, frozenset(c for c, glyph in font.face.charToGlyph.items() if glyph))


_fallback_numbers = itertools.count(1)


@cache
def fallback_face(path: Path) -> Face:
    """Read and register a fallback font once per process, under a name of its own."""
    shipped_font_names()  # the shipped faces first: their PostScript names must stay theirs
    number = next(_fallback_numbers)
    font = SubsetCachingFont(f"CertifyFallback{number}", str(path))
    pdfmetrics.registerFont(font)
    if pdfmetrics.getFont(font.fontName) is not font:
        # ReportLab keeps one font per PostScript name: a full DejaVuSerif.ttf listed as a
        # fallback would quietly become the shipped cut-down one. A name of its own keeps it.
        font.face.name = TTFNameBytes(font.face.name + b"-" + str(number).encode())
        font.fontName = f"CertifyFallback{number}-own"
        pdfmetrics.registerFont(font)
    return _face(font.fontName)


def font_problem(font: Path) -> str | None:
    """Why a fallback font file cannot serve, or None once it is read and registered."""
    try:
        fallback_face(font)
    except (TTFError, OSError, ValueError, struct.error, IndexError, KeyError) as exc:
        return _unusable(font, exc)
    return None


def _unusable(font: Path, error: Exception) -> str:
    """Why a font file cannot serve, in the words of someone choosing another file."""
    with font.open("rb") as stream:
        magic = stream.read(4)
    if magic == b"OTTO":
        return _(
            "has PostScript (CFF) outlines, which cannot be embedded; use a TrueType (.ttf) font"
        )
    if magic == b"ttcf":
        return _("is a font collection (.ttc); use a single TrueType (.ttf) font")
    if magic in (b"wOFF", b"wOF2"):
        return _("is a web font (WOFF); use the TrueType (.ttf) version")
    if magic not in (b"\x00\x01\x00\x00", b"true"):
        return _("is not a TrueType font (.ttf)")
    reason = " ".join(str(error).replace(f'"{font}"', "").replace(str(font), "").split())
    if isinstance(error, KeyError):
        reason = _("it has no {table} table").format(table=repr(error.args[0]))
    if "subsetting/embedding" in reason:
        return _("does not allow embedding in a PDF (its licence flags); choose another font")
    return _("cannot be read as a TrueType font ({reason})").format(
        reason=reason or type(error).__name__
    )


# Scripts whose letters change shape or order with their neighbours (Arabic joining, Indic
# conjuncts and vowel signs). ReportLab draws one glyph per character, so a name in them
# would come out wrong even with a font that has every glyph: it is refused, never garbled.
_SHAPED = (
    (0x0600, 0x074F),  # Arabic, Syriac
    (0x0750, 0x077F),  # Arabic Supplement
    (0x07C0, 0x07FF),  # N'Ko
    (0x0860, 0x08FF),  # Syriac Supplement, Arabic Extended
    (0x0900, 0x0DFF),  # Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, ..., Sinhala
    (0x0F00, 0x109F),  # Tibetan, Myanmar
    (0x1780, 0x18AF),  # Khmer, Mongolian
    (0x1B00, 0x1B7F),  # Balinese
    (0xA8E0, 0xA8FF),  # Devanagari Extended
    (0xA980, 0xA9DF),  # Javanese
    (0x11000, 0x11FFF),  # Brahmi and the other historic Indic scripts
)


def _needs_shaping(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char)[0] in "LM" and any(a <= code <= b for a, b in _SHAPED)


_MIRRORED = dict(zip("()[]{}<>«»", ")(][}{><»«", strict=True))
_OPENING = "([{<«"
_RTL = ("R", "AL")
_NUMBER = ("EN", "AN")


def visual_order(line: str) -> str:
    """A left-to-right line with right-to-left stretches (Hebrew) put in drawing order.

    The Unicode bidi algorithm for the one case certificates meet, a left-to-right page:
    each stretch from a right-to-left letter to the last right-to-left letter or digit
    before the next left-to-right letter is reversed, keeping numbers and a letter with
    its marks in reading order, and mirroring brackets.
    """
    kinds = [unicodedata.bidirectional(c) for c in line]
    if not any(kind in _RTL for kind in kinds):
        return line
    out: list[str] = []
    index = 0
    while index < len(line):
        if kinds[index] not in _RTL:
            out.append(line[index])
            index += 1
            continue
        end = last = index  # the stretch runs to the next strong left-to-right letter
        opened: list[str] = []
        while end < len(line) and kinds[end] != "L":
            char = line[end]
            if kinds[end] in _RTL or kinds[end] in _NUMBER:
                last = end
            elif char in _OPENING:
                opened.append(_MIRRORED[char])
            elif opened and char == opened[-1]:
                opened.pop()
                last = end  # a bracket closing one opened in the stretch goes with it
            end += 1
        pieces: list[str] = []  # clusters and numbers, each kept in reading order
        position = index
        while position <= last:
            start = position
            position += 1
            if kinds[start] in _NUMBER:
                while position <= last and kinds[position] in (*_NUMBER, "CS", "ES", "ET"):
                    position += 1
            else:
                while position <= last and unicodedata.combining(line[position]):
                    position += 1
            piece = line[start:position]
            pieces.append(_MIRRORED.get(piece, piece))
        out.extend(reversed(pieces))
        index = last + 1
    return "".join(out)


class FontChain:
    """Fonts tried in order for each character; the first with a glyph for it draws it."""

    def __init__(self, faces: tuple[Face, ...], fake_bold_from: int) -> None:
        self.faces = faces
        # faces from here on have no bold of their own: drawn with an outline to look bold
        self.fake_bold_from = fake_bold_from
        # the fast path: texts the first face draws alone, as before there were fallbacks
        self.first = frozenset(
            chr(c) for c in faces[0].codes if unicodedata.bidirectional(chr(c)) not in _RTL
        )
        # per character: the face that draws it (-1: none, -2: refused as needing shaping),
        # and whether it follows the character before it (spaces, marks, joiners)
        self._memo: dict[str, tuple[int, bool]] = {}

    def _lookup(self, char: str) -> tuple[int, bool]:
        found = self._memo.get(char)
        if found is None:
            code = ord(char)
            index = next((i for i, face in enumerate(self.faces) if code in face.codes), -1)
            if _needs_shaping(char):
                index = -2  # a font would not help: say so at once
            follows = (
                char.isspace() or unicodedata.category(char)[0] == "M" or char in "\u200c\u200d"
            )
            found = self._memo[char] = (index, follows)
        return found

    def missing(self, text: str) -> tuple[list[str], list[str]]:
        """The characters of `text` no face draws, and those refused as needing shaping."""
        if self.first.issuperset(text):
            return [], []
        absent: list[str] = []
        shaped: list[str] = []
        for char in dict.fromkeys(text):
            index, _ = self._lookup(char)
            if index == -1 and unicodedata.category(char) not in ("Cf", "Cc"):
                absent.append(char)
            elif index == -2:
                shaped.append(char)
        return absent, shaped

    def runs(self, text: str) -> list[tuple[int, str]]:
        """`text` (already checked) as (face, part) runs in drawing order."""
        if self.first.issuperset(text):
            return [(0, text)]
        runs: list[tuple[int, list[str]]] = []
        current = -1
        for char in visual_order(text):
            index, follows = self._lookup(char)
            if follows and current >= 0 and ord(char) in self.faces[current].codes:
                index = current  # a space or a mark stays with the letter before it
            if index < 0:
                continue  # an invisible format character no font has (checked before)
            if index == current:
                runs[-1][1].append(char)
            else:
                runs.append((index, [char]))
                current = index
        return [(index, "".join(chars)) for index, chars in runs]

    def width(self, runs: list[tuple[int, str]], size: float) -> float:
        """The advance of `runs` at `size`, each part measured in its own face."""
        return float(
            sum(pdfmetrics.stringWidth(part, self.faces[i].name, size) for i, part in runs)
        )


@cache
def font_chains(fallbacks: tuple[Path, ...]) -> tuple[FontChain, FontChain]:
    """The regular and the bold chain for a layout's fallback fonts, shared by its texts."""
    regular_name, bold_name = shipped_font_names()
    regular, bold = _face(regular_name), _face(bold_name)
    others = tuple(fallback_face(path) for path in fallbacks)
    # bold: the shipped bold, then the regular face and the fallbacks made bold
    return FontChain((regular, *others), len(others) + 1), FontChain((bold, regular, *others), 1)


def check_drawable(drawn: Mapping[str, tuple[str, FontChain]], place: Callable[[str], str]) -> None:
    """Raise `MissingGlyphs` naming every character of every text that cannot be drawn.

    `drawn` maps a text's name to its content and the chain that draws it; `place(name)`
    is where that text is written (`file:line`), asked only for a text that fails.
    """
    problems: list[str] = []
    characters: dict[str, None] = {}
    for name, (content, chain) in drawn.items():
        absent, shaped = chain.missing(content)
        if not absent and not shaped:
            continue
        at = place(name)
        characters.update(dict.fromkeys(absent + shaped))
        if absent:
            said = ngettext(
                'no font can draw {characters} in "{text}"; add a font that has it under '
                "fonts: in the layout",
                'no font can draw {characters} in "{text}"; add a font that has them under '
                "fonts: in the layout",
                len(absent),
            ).format(characters=_describe(absent), text=content)
            problems.append(f"{at}: {said}")
        if shaped:
            scripts = sorted({unicodedata.name(c, "?").split()[0].title() for c in shaped})
            said = _(
                'cannot lay out {characters} in "{text}": {scripts} letters change shape with '
                "their neighbours, which certificates cannot draw yet"
            ).format(
                characters=_describe(shaped),
                text=content,
                scripts=" {} ".format(_("and")).join(scripts),
            )
            problems.append(f"{at}: {said}")
    if problems:
        raise MissingGlyphs(problems, list(characters))


def _describe(characters: list[str]) -> str:
    named = [f"{c!r} (U+{ord(c):04X})" for c in characters[:5]]
    more = " " + _("and {count} more").format(count=len(characters) - 5)
    more = more if len(characters) > 5 else ""
    return ", ".join(named) + more
