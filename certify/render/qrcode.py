"""The QR code of a verification URL: the same modules as segno draws (level M, mask 2,
byte mode), made several times faster for the URLs certificates carry.

Everything a version fixes (finder, timing and alignment patterns, format and version
information, the order in which data fills the symbol, the mask) is laid out once per
version; a URL then costs its codewords, a table-driven Reed-Solomon code and one gather
of all modules. Text this does not cover (past version 10, or text segno would write in
another mode) goes to segno itself.
"""

from __future__ import annotations

import re
from functools import cache
from operator import itemgetter

ALPHANUMERIC = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")

# level M (ISO/IEC 18004 table 9): error correction codewords per block, and the data
# codewords of each block
_BLOCKS = {
    1: (10, (16,)),
    2: (16, (28,)),
    3: (26, (44,)),
    4: (18, (32, 32)),
    5: (24, (43, 43)),
    6: (16, (27, 27, 27, 27)),
    7: (18, (31, 31, 31, 31)),
    8: (22, (38, 38, 39, 39)),
    9: (22, (36, 36, 36, 37, 37)),
    10: (26, (43, 43, 43, 43, 44)),
}
# the alignment patterns' centres past the one at 6, in rows and columns alike
_ALIGNMENT = {
    1: (),
    2: (18,),
    3: (22,),
    4: (26,),
    5: (30,),
    6: (34,),
    7: (22, 38),
    8: (24, 42),
    9: (26, 46),
    10: (28, 50),
}
MASK = 2  # modules in a column divisible by 3 are inverted
_FORMAT_M = 0b00  # level M's two bits in the format information

# GF(256) over x^8 + x^4 + x^3 + x^2 + 1
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]


def _multiply(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@cache
def _remainders(count: int) -> tuple[int, ...]:
    """For each leading byte, the generator polynomial times it as one integer: the
    Reed-Solomon division then takes a shift and an exclusive or per data codeword."""
    generator = [1]
    for power in range(count):
        product = [*generator, 0]
        for index, coefficient in enumerate(generator):
            product[index + 1] ^= _multiply(coefficient, _EXP[power])
        generator = product
    return tuple(
        int.from_bytes(bytes(_multiply(factor, c) for c in generator[1:]), "big")
        for factor in range(256)
    )


def _error_correction(data: bytes, count: int) -> bytes:
    table = _remainders(count)
    shift, keep = 8 * (count - 1), (1 << 8 * count) - 1
    remainder = 0
    for byte in data:
        remainder = ((remainder << 8) & keep) ^ table[byte ^ (remainder >> shift)]
    return remainder.to_bytes(count, "big")


def _bch(value: int, generator: int, bits: int) -> int:
    remainder = value << bits
    top = generator.bit_length() - 1
    for position in range(remainder.bit_length() - 1, top - 1, -1):
        if remainder >> position & 1:
            remainder ^= generator << (position - top)
    return (value << bits) | remainder


@cache
def _version(version: int) -> tuple[int, itemgetter[tuple[int, ...]], int, int]:
    """(size, the gather of every module, the mask over the data bits, how many there are)"""
    size = 17 + 4 * version
    grid: list[list[int | None]] = [[None] * size for _ in range(size)]  # None: data

    def finder(top: int, left: int) -> None:
        for row in range(top - 1, top + 8):
            for column in range(left - 1, left + 8):
                if 0 <= row < size and 0 <= column < size:
                    ring = max(abs(row - top - 3), abs(column - left - 3))
                    grid[row][column] = int(ring != 2 and ring != 4)

    finder(0, 0)
    finder(0, size - 7)
    finder(size - 7, 0)
    for index in range(8, size - 8):
        grid[6][index] = grid[index][6] = int(index % 2 == 0)
    centres = (6, *_ALIGNMENT[version])
    corners = {(6, 6), (6, centres[-1]), (centres[-1], 6)}  # where the finders are
    for row in centres:
        for column in centres:
            if (row, column) not in corners:
                for dr in range(-2, 3):
                    for dc in range(-2, 3):
                        grid[row + dr][column + dc] = int(max(abs(dr), abs(dc)) != 1)
    fmt = _bch(_FORMAT_M << 3 | MASK, 0b10100110111, 10) ^ 0b101010000010010
    bit = [fmt >> i & 1 for i in range(15)]
    for i in range(6):
        grid[i][8] = bit[i]
    grid[7][8], grid[8][8], grid[8][7] = bit[6], bit[7], bit[8]
    for i in range(9, 15):
        grid[8][14 - i] = bit[i]
    for i in range(8):
        grid[8][size - 1 - i] = bit[i]
    for i in range(8, 15):
        grid[size - 15 + i][8] = bit[i]
    grid[size - 8][8] = 1  # the dark module
    if version >= 7:
        info = _bch(version, 0x1F25, 12)
        for i in range(18):
            a, b = size - 11 + i % 3, i // 3
            grid[b][a] = grid[a][b] = info >> i & 1
    # the data fills two-module columns from the right, up and down in turn
    order: list[tuple[int, int]] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5  # the vertical timing pattern is skipped
        upward = (right + 1) & 2 == 0
        for vertical in range(size):
            row = size - 1 - vertical if upward else vertical
            for column in (right, right - 1):
                if grid[row][column] is None:
                    order.append((row, column))
        right -= 2
    count = len(order)
    position = {place: index for index, place in enumerate(order)}
    # function modules gather from two constant entries after the data bits
    indices = [
        position[(r, c)] if grid[r][c] is None else count + int(grid[r][c] or 0)
        for r in range(size)
        for c in range(size)
    ]
    mask = int("".join("1" if column % 3 == 0 else "0" for _, column in order), 2)
    return size, itemgetter(*indices), mask, count


def _bits(version: int, data: bytes) -> int:
    """The bits of `data` in byte mode: mode, character count (longer from version 10)."""
    return 4 + (8 if version < 10 else 16) + 8 * len(data)


def _codewords(data: bytes) -> tuple[int, bytes] | None:
    """The version and the final message of `data` in byte mode, or None past version 10."""
    version = next(
        (v for v, (_, blocks) in _BLOCKS.items() if _bits(v, data) <= 8 * sum(blocks)), None
    )
    if version is None:
        return None
    ec_count, blocks = _BLOCKS[version]
    capacity, count_bits = sum(blocks), 8 if version < 10 else 16
    bits = (0b0100 << count_bits | len(data)) << 8 * len(data) | int.from_bytes(data, "big")
    length = 4 + count_bits + 8 * len(data)
    terminator = min(4, 8 * capacity - length)
    bits <<= terminator
    length += terminator
    # to the next byte, as segno does: a whole zero byte when it is there already
    # (readers stop at the terminator); never past the capacity
    padding = min(8 - length % 8, 8 * capacity - length)
    bits <<= padding
    length += padding
    stream = bits.to_bytes(length // 8, "big")
    stream += (b"\xec\x11" * capacity)[: capacity - len(stream)]
    pieces, start = [], 0
    for size in blocks:
        pieces.append(stream[start : start + size])
        start += size
    corrections = [_error_correction(piece, ec_count) for piece in pieces]
    message = bytearray()
    for index in range(max(blocks)):
        message.extend(piece[index] for piece in pieces if index < len(piece))
    for index in range(ec_count):
        message.extend(correction[index] for correction in corrections)
    return version, bytes(message)


def _fast(text: str) -> list[bytes] | None:
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    if ALPHANUMERIC.issuperset(data):
        return None  # segno writes digits and capitals in a denser mode
    made = _codewords(data)
    if made is None:
        return None
    version, message = made
    size, gather, mask, count = _version(version)
    bits = int.from_bytes(message, "big") << count - 8 * len(message)  # remainder bits: 0
    values = format(bits ^ mask, f"0{count}b").encode().translate(_BITS) + b"\x00\x01"
    modules = bytes(gather(values))
    return [modules[row : row + size] for row in range(0, size * size, size)]


_BITS = bytes.maketrans(b"01", b"\x00\x01")


def qr_rows(text: str) -> list[bytes]:
    """The modules of `text`'s QR code, row by row from the top, 1 for dark."""
    rows = _fast(text)
    if rows is None:
        import segno

        matrix = segno.make_qr(text, error="m", boost_error=False, mask=MASK).matrix
        rows = [bytes(row) for row in matrix]
    return rows


_DARK = re.compile(b"\x01+")


def dark_runs(rows: list[bytes]) -> list[tuple[int, int, int]]:
    """Each horizontal run of dark modules as (row from the top, first column, length)."""
    return [
        (index, run.start(), run.end() - run.start())
        for index, row in enumerate(rows)
        for run in _DARK.finditer(row)
    ]
