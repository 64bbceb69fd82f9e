"""A tiny TrueType font built at test time: a box glyph for each character asked for.

Fallback fonts for scripts the shipped DejaVu lacks (CJK, Armenian, Hebrew, Georgian) are
megabytes and not on every machine; a font written here is a few hundred bytes, has no
licence to track and draws exactly the characters a test names, nothing more.
"""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

UNITS = 1000
ADVANCE = 900


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def _box() -> bytes:
    """One closed contour of four on-curve points: a square, 100..800 wide, 0..700 high."""
    xs, ys = (100, 100, 800, 800), (0, 700, 700, 0)
    deltas_x = [xs[0]] + [b - a for a, b in itertools.pairwise(xs)]
    deltas_y = [ys[0]] + [b - a for a, b in itertools.pairwise(ys)]
    return (
        struct.pack(">hhhhh", 1, 100, 0, 800, 700)  # one contour and its bounding box
        + struct.pack(">HH", 3, 0)  # last point of the contour, no instructions
        + bytes([0x01] * 4)  # on curve; coordinates as 16-bit deltas
        + struct.pack(">4h", *deltas_x)
        + struct.pack(">4h", *deltas_y)
    )


def _name(postscript_name: str) -> bytes:
    family = postscript_name.encode("utf-16-be")
    records = [(1, family), (6, family)]  # family name, PostScript name
    header = struct.pack(">HHH", 0, len(records), 6 + 12 * len(records))
    entries, strings = b"", b""
    for name_id, text in records:
        entries += struct.pack(">6H", 3, 1, 0x409, name_id, len(text), len(strings))
        strings += text
    return header + entries + strings


def _cmap(codes: list[int]) -> bytes:
    """Format 12 (every plane) under Windows, full Unicode: code i → glyph i + 1."""
    groups = b"".join(struct.pack(">3I", code, code, glyph + 1) for glyph, code in enumerate(codes))
    subtable = struct.pack(">HHIII", 12, 0, 16 + len(groups), 0, len(codes)) + groups
    return struct.pack(">HH", 0, 1) + struct.pack(">HHI", 3, 10, 12) + subtable


def make_font(path: Path, characters: str, name: str = "CertifyTestBoxes") -> Path:
    """Write a TrueType font at `path` that draws `characters` (a box each) and nothing else."""
    codes = sorted({ord(c) for c in characters})
    glyph_count = len(codes) + 1  # glyph 0 is the empty .notdef
    box = _box()
    glyf = box * len(codes)
    # glyph 0 is empty; offsets are stored halved (the short format)
    ends = [len(box) * i // 2 for i in range(len(codes) + 1)]
    loca = struct.pack(f">{glyph_count + 1}H", 0, *ends)
    tables = {
        "cmap": _cmap(codes),
        "glyf": glyf,
        "head": struct.pack(
            ">IIIIHHqqhhhhHHhhh",
            0x00010000,  # version
            0x00010000,  # font revision
            0,  # checksum adjustment, filled in below
            0x5F0F3CF5,  # magic
            0,  # flags
            UNITS,
            0,  # created
            0,  # modified
            100,
            0,
            800,
            700,  # bounding box of all glyphs
            0,  # mac style
            8,  # smallest readable size in pixels
            2,  # font direction hint
            0,  # short loca offsets
            0,  # glyph data format
        ),
        "hhea": struct.pack(
            ">I3hH11hH",
            0x00010000,
            800,
            -200,
            0,
            ADVANCE,
            100,
            100,
            800,
            1,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            glyph_count,
        ),
        "hmtx": struct.pack(">HH", ADVANCE, 0) + struct.pack(">HH", ADVANCE, 100) * len(codes),
        "loca": loca,
        "maxp": struct.pack(
            ">IH13H", 0x00010000, glyph_count, 4, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0
        ),
        "name": _name(name),
        "post": struct.pack(">IIhhIIIII", 0x00030000, 0, -100, 50, 0, 0, 0, 0, 0),
    }
    offset = 12 + 16 * len(tables)
    directory, body = b"", b""
    head_offset = 0
    for tag in sorted(tables):
        data = tables[tag]
        if tag == "head":
            head_offset = offset
        directory += struct.pack(">4sIII", tag.encode("ascii"), _checksum(data), offset, len(data))
        padded = data + b"\0" * (-len(data) % 4)
        body += padded
        offset += len(padded)
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(
        ">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16
    )
    font = bytearray(header + directory + body)
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    font[head_offset + 8 : head_offset + 12] = struct.pack(">I", adjustment)
    path.write_bytes(bytes(font))
    return path
