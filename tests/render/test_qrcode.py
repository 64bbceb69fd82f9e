"""The QR code of a verification URL: segno's modules, made faster, and read back."""

import string

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from certify.render import qrcode
from certify.render.qrcode import dark_runs, qr_rows

URL_CHARACTERS = string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=% "


def segnos(text: str) -> list[bytes]:
    matrix = segno.make_qr(text, error="m", boost_error=False, mask=qrcode.MASK).matrix
    return [bytes(row) for row in matrix]


@settings(max_examples=300, deadline=None)
@given(st.text(URL_CHARACTERS, min_size=1, max_size=230))
def test_the_modules_are_segno_s(text: str) -> None:
    assert qr_rows(text) == segnos(text)


@pytest.mark.parametrize("version", range(1, 11))
def test_each_version_at_its_fullest_and_one_past_it(version: int) -> None:
    capacity = sum(qrcode._BLOCKS[version][1])
    fullest = (8 * capacity - qrcode._bits(version, b"")) // 8
    for length in (fullest - 1, fullest, fullest + 1):
        text = "https://x.org/" + "k" * (length - 14)
        assert qr_rows(text) == segnos(text)
    assert len(qr_rows("a" * fullest)) == 17 + 4 * version  # the smallest version it fits
    assert len(qr_rows("a" * (fullest + 1))) == 21 + 4 * version


@pytest.mark.parametrize(
    "text",
    [
        "HTTPS://EXAMPLE.ORG/V/7K3M-Q9XD-2P4T",  # capitals alone: a denser mode
        "20270115",  # digits alone
        "https://example.org/vérifier/7K3M",  # past ASCII
        "https://example.org/verify/" + "x" * 300,  # past version 10
    ],
)
def test_text_the_fast_way_does_not_cover_is_segno_s(text: str) -> None:
    assert qrcode._fast(text) is None
    assert qr_rows(text) == segnos(text)


def test_dark_runs_cover_exactly_the_dark_modules() -> None:
    rows = qr_rows("https://example.org/verify/7K3M-Q9XD-2P4T")
    drawn = [bytearray(len(rows)) for _ in rows]
    for row, column, length in dark_runs(rows):
        assert rows[row][column - 1 : column] != b"\x01"  # a run starts after a light one
        drawn[row][column : column + length] = b"\x01" * length
    assert [bytes(row) for row in drawn] == rows


@pytest.mark.parametrize("length", [10, 60, 130, 210])
def test_a_reader_reads_the_url_back(length: int) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    url = ("https://certificates.example.org/verify/7K3M-Q9XD-2P4T?" + "q" * length)[:length]
    rows = qr_rows(url)
    assert qrcode._fast(url) == rows
    size, scale, quiet = len(rows), 4, 4
    image = image_module.new("L", ((size + 2 * quiet) * scale,) * 2, 255)
    for row, column, run in dark_runs(rows):
        left, top = (column + quiet) * scale, (row + quiet) * scale
        image.paste(0, (left, top, left + run * scale, top + scale))
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [url]
