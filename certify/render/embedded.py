"""What many certificate PDFs embed alike, encoded once per process instead of per PDF.

ReportLab re-encodes an image and re-subsets, re-compresses and re-formats every font for
every document, which costs more than drawing the certificate. Here a layout's image is
read and compressed once, and a font subset's objects (the font file, its widths, its
ToUnicode map) once per list of characters, each formatted once with a slot for the
references that differ per document: with ReportLab's readable ASCII subsets that
list differs only by the other characters a certificate uses, in their order, so names
with the same accents share it. The PDFs are the same as ReportLab writes them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib.boxstuff import aspectRatioFix
from reportlab.lib.utils import ImageReader, _digester
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import (
    FF_NONSYMBOLIC,
    FF_SYMBOLIC,
    SUBSETN,
    TTFont,
    makeToUnicodeCMap,
)
from reportlab.pdfgen import canvas

SUBSETS_KEPT = 256  # per font: distinct character lists seen in a run, most recent kept


class Formatted(pdfdoc.PDFObject):  # type: ignore[misc]
    """A PDF object formatted once; its bytes go into every document as they are."""

    def __init__(self, data: bytes, stream: bool = False) -> None:
        self.data = data
        if stream:
            self.__RefOnly__ = 1  # a stream is always an object of its own

    def format(self, document: Any) -> bytes:
        return self.data


class _Alone(pdfdoc.DummyDoc):  # type: ignore[misc]
    """A document for objects formatted on their own: unencrypted, their filters their own."""

    defaultStreamFilters = None


_ALONE = _Alone()


class _Slot(pdfdoc.PDFObject):  # type: ignore[misc]
    """Where a template takes what differs per document (a reference, a name)."""

    def __init__(self, number: int) -> None:
        self.marker = b"\x00slot%d\x00" % number

    def format(self, document: Any) -> bytes:
        return self.marker


def _template(entries: dict[str, Any]) -> bytes:
    """A dictionary as ReportLab formats it, its `_Slot` entries left to fill per document."""
    return pdfdoc.PDFDictionary(entries).format(_ALONE)  # type: ignore[no-any-return]


class Filled(pdfdoc.PDFObject):  # type: ignore[misc]
    """A dictionary formatted once, its slots filled with each document's values, and the
    stream that follows it if any."""

    __RefOnly__ = 1

    def __init__(self, template: bytes, values: list[Any], stream: bytes | None = None) -> None:
        self.template = template
        self.values = values
        self.stream = stream

    def format(self, document: Any) -> bytes:
        data = self.template
        for number, value in enumerate(self.values):
            data = data.replace(b"\x00slot%d\x00" % number, pdfdoc.format(value, document))
        if self.stream is not None:
            data += b"\nstream\n" + self.stream + b"endstream\n"
        return data


def _stream(content: bytes, length1: bool = False) -> bytes:
    """A compressed stream, as ReportLab writes it (certificates are never encrypted)."""
    stream = pdfdoc.PDFStream(content=content, filters=[pdfdoc.PDFZCompress])
    if length1:
        stream.dictionary["Length1"] = len(content)
    return stream.format(_ALONE)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Subset:
    base_name: str
    font: bytes  # slots: its name in the document, its descriptor, its ToUnicode map
    descriptor: bytes  # slot: its font file
    to_unicode: bytes
    font_file: bytes


class SubsetCachingFont(TTFont):  # type: ignore[misc]
    """A TrueType font whose subsets are made once per list of characters, not per PDF."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        self._subsets: OrderedDict[tuple[int, tuple[int, ...]], _Subset] = OrderedDict()

    def _subset(self, number: int, codes: tuple[int, ...]) -> _Subset:
        key = (number, codes)
        made = self._subsets.get(key)
        if made is not None:
            self._subsets.move_to_end(key)
            return made
        face = self.face
        base_name = b"".join((SUBSETN(number), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
        font = {
            "Type": pdfdoc.PDFName("Font"),
            "Subtype": pdfdoc.PDFName("TrueType"),
            "BaseFont": pdfdoc.PDFName(base_name),
            "Name": _Slot(0),
            "FirstChar": 0,
            "LastChar": len(codes) - 1,
            "Widths": pdfdoc.PDFArray([face.getCharWidth(code) for code in codes]),
            "FontDescriptor": _Slot(1),
            "ToUnicode": _Slot(2),
        }
        descriptor = {
            "Type": "/FontDescriptor",
            "Ascent": face.ascent,
            "CapHeight": face.capHeight,
            "Descent": face.descent,
            "Flags": (face.flags & ~FF_NONSYMBOLIC) | FF_SYMBOLIC,
            "FontBBox": pdfdoc.PDFArray(face.bbox),
            "FontName": pdfdoc.PDFName(base_name),
            "ItalicAngle": face.italicAngle,
            "StemV": face.stemV,
            "FontFile2": _Slot(0),
            "MissingWidth": face.defaultWidth,
        }
        made = _Subset(
            base_name,
            _template(font),
            _template(descriptor),
            _stream(makeToUnicodeCMap(base_name, codes)),
            _stream(face.makeSubset(codes), length1=True),
        )
        self._subsets[key] = made
        if len(self._subsets) > SUBSETS_KEPT:
            self._subsets.popitem(last=False)
        return made

    def addObjects(self, doc: Any) -> None:
        """ReportLab's TTFont.addObjects with each subset's objects made once."""
        state = self._assignState(doc)
        state.frozen = 1
        face = self.face
        for number, codes in enumerate(state.subsets):
            internal = self.getSubsetInternalName(number, doc)[1:]
            made = self._subset(number, tuple(codes))
            # a document registers objects of its own: ReportLab marks what it registers
            to_unicode = doc.Reference(
                Formatted(made.to_unicode, stream=True), "toUnicodeCMap:" + made.base_name
            )
            font_file = doc.Reference(
                Formatted(made.font_file, stream=True),
                f"fontFile:{face.filename}({made.base_name})",
            )
            descriptor = doc.Reference(
                Filled(made.descriptor, [font_file]), "fontDescriptor:" + made.base_name
            )
            font = Filled(made.font, [pdfdoc.PDFName(internal), descriptor, to_unicode])
            font.__Comment__ = f"Font {self.fontName} subset {number}"
            doc.Reference(font, internal)
            doc.idToObject["BasicFonts"].dict[internal] = font


@dataclass(frozen=True)
class _Image:
    name: str  # ReportLab's: the digest of the pixels and the mask
    template: bytes  # its dictionary; slot: its soft mask, if any
    pixels: bytes  # compressed
    mask_name: str | None  # its alpha channel, an image of its own
    mask: bytes
    width: int
    height: int


def _split(stream: bytes) -> tuple[bytes, bytes]:
    """A formatted stream object as its dictionary and its content."""
    dictionary, _, rest = stream.partition(b"\nstream\n")
    return dictionary, rest.removesuffix(b"endstream\n")


@cache
def _image(path: Path) -> _Image:
    reader = ImageReader(str(path))
    pixels = reader.getRGBData()  # reads the alpha channel too, if any
    alpha = reader._dataA
    name = _digester(pixels + (alpha.getRGBData() if alpha else b"auto"))
    image = pdfdoc.PDFImageXObject(name, reader, mask="auto")
    mask = image.__dict__.pop("_smask", None)
    if mask is not None:
        image.smask = _Slot(0)
    template, content = _split(image.format(_ALONE))
    return _Image(
        name,
        template,
        content,
        mask.name if mask is not None else None,
        mask.format(_ALONE) if mask is not None else b"",
        image.width,
        image.height,
    )


def draw_image(
    pdf: canvas.Canvas,
    path: Path,
    x: float,
    y: float,
    width: float,
    height: float,
    preserve_aspect_ratio: bool = False,
) -> None:
    """`canvas.drawImage(path, ..., mask="auto")` with the image encoded once per process."""
    shared = _image(path)
    doc = pdf._doc
    registered = doc.getXObjectName(shared.name)
    if registered not in doc.idToObject:
        image = Filled(shared.template, [], shared.pixels)
        doc.Reference(image, registered)
        doc.addForm(shared.name, image)
        if shared.mask_name is not None:
            mask_name = doc.getXObjectName(shared.mask_name)
            if mask_name in doc.idToObject:
                image.values.append(pdfdoc.PDFObjectReference(mask_name))
            else:
                image.values.append(doc.Reference(Formatted(shared.mask, stream=True), mask_name))
    x, y, width, height, _ = aspectRatioFix(
        preserve_aspect_ratio, "c", x, y, width, height, shared.width, shared.height
    )
    pdf._currentPageHasImages = 1
    pdf.saveState()
    pdf.translate(x, y)
    pdf.scale(width, height)
    pdf._code.append(f"/{registered} Do")
    pdf.restoreState()
    pdf._formsinuse.append(shared.name)
