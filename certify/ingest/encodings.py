"""The encoding of an export: detected (UTF-8, UTF-16 by its mark, else Windows-1252) or
declared in actions.yaml, and where its bytes stop decoding."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from certify.locale import N_, _

_UTF16_BOMS = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}
# the five bytes Windows-1252 leaves undefined: Python's codec refuses them
_UNDEFINED_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
SAVE_AS_UTF8 = N_('save the export as UTF-8 (Excel: "CSV UTF-8")')
_CHUNK = 1 << 20


def detect_encoding(path: Path) -> tuple[str, bool]:
    """The file's encoding: UTF-16 with a BOM, UTF-8 (BOM or not) when it decodes, else
    Windows-1252; and whether it may hold a double quote (and so a value over lines)."""
    with path.open("rb") as handle:
        codec = _UTF16_BOMS.get(handle.read(2))
        if codec is not None:
            return codec, True
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        quoted = False
        try:
            while chunk := handle.read(_CHUNK):
                # the byte of '"' is that character alone in UTF-8 (and in Windows-1252)
                quoted = quoted or b'"' in chunk
                # ASCII is UTF-8 as it is, unless the chunk before ended inside a character
                if not chunk.isascii() or decoder.getstate()[0]:
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252", True
    return "utf-8-sig", quoted


# Excel workbooks, .xlsx (a zip file) and the older .xls, saved under a .csv name
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


def not_csv_text(path: Path) -> str | None:
    """Why a file without a UTF-16 BOM cannot be CSV text, from its first line; None when
    it may be."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if head.startswith(_WORKBOOKS):
        return (
            _("an Excel workbook, not a CSV file; rename it to {name} (workbooks are read)").format(
                name=f"{path.stem}.xlsx"
            )
            if head.startswith(b"PK")
            else _("an old Excel workbook (.xls), not a CSV file; save it as .xlsx or CSV UTF-8")
        )
    if b"\x00" in head.split(b"\n", 1)[0]:
        return _("the header holds NUL bytes (UTF-16 without a byte order mark?)")
    return None


def undefined_in_cp1252(path: Path) -> tuple[int, int, int] | None:
    """(line, byte, how many) of the bytes Windows-1252 leaves undefined; None when none."""
    first: tuple[int, int] | None = None
    total = 0
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if first is None and (match := _UNDEFINED_CP1252.search(chunk)):
                first = (line + chunk.count(b"\n", 0, match.start()), chunk[match.start()])
            if first is not None:
                total += len(_UNDEFINED_CP1252.findall(chunk))
            line += chunk.count(b"\n")
    return None if first is None else (*first, total)


def decode_problem(path: Path, codec: str) -> tuple[int, str] | None:
    """(line, reason) where a file stops being valid in `codec`; None when it is."""
    decoder = codecs.getincrementaldecoder(codec)()
    line = 1
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(_CHUNK):
                line += decoder.decode(chunk).count("\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            before = exc.object[: exc.start].decode(codec, errors="ignore")
            return line + before.count("\n"), exc.reason
    return None


def utf8_beyond_ascii(path: Path) -> bool:
    """Whether the file is valid UTF-8 with characters beyond ASCII: text that a
    single-byte encoding would read as other characters."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    beyond = False
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(_CHUNK):
                if not chunk.isascii() or decoder.getstate()[0]:
                    beyond = True
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return beyond


def in_declared_encoding(path: Path, codec: str) -> tuple[str, bool, tuple[int, str] | None]:
    """A file in its declared encoding: the codec to open it with (a BOM still wins), whether
    it may hold a double quote, and where it stops decoding (None when it does not)."""
    with path.open("rb") as handle:
        bom = handle.read(3)
    utf16 = _UTF16_BOMS.get(bom[:2])
    if utf16 is not None:
        codec = utf16
    elif codec in ("utf-8", "utf_8") or bom == codecs.BOM_UTF8:
        codec = "utf-8-sig"
    problem = decode_problem(path, codec)
    single = not codec.startswith(("utf-16", "utf_16", "utf-32", "utf_32"))
    quoted = True
    if single:  # the byte of '"' is that character alone in these encodings
        with path.open("rb") as handle:
            quoted = any(b'"' in chunk for chunk in iter(lambda: handle.read(_CHUNK), b""))
    return codec, quoted, problem
