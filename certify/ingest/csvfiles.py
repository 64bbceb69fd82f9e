"""Reading CSV exports: which files a path holds, their encoding and delimiter, their rows."""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from certify.errors import CertifyError, UsageError
from certify.ingest.tables import ORDER, TABLES, CellError, Converter, Row, TableSpec

if TYPE_CHECKING:
    from _csv import Reader

FIELD_LIMIT = 10 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)


# hidden files (.DS_Store), LibreOffice's (.~lock.x#) and Excel's (~$x) lock files
_PASSED_OVER = (".", "~$")


def collect_files(
    paths: Sequence[Path], table: str | None, warnings: list[str]
) -> list[tuple[Path, str]]:
    """(file, table) pairs for the paths given; directories yield every known file in them.

    Any other file in a directory is a note in `warnings`: a misnamed export would
    otherwise be left out without a word. Hidden and lock files are passed over.
    """
    if table is not None and table not in TABLES:
        raise UsageError(f"unknown table {table!r} (one of: {', '.join(TABLES)})")
    known_files = ", ".join(spec.file for spec in TABLES.values())
    found: list[tuple[Path, str]] = []
    others: list[Path] = []
    for path in paths:
        if path.is_dir():
            if table is not None:
                raise UsageError("--table goes with a single file, not a directory")
            by_name = {child.name.lower(): child for child in path.iterdir() if child.is_file()}
            for name in ORDER:
                if TABLES[name].file in by_name:
                    found.append((by_name.pop(TABLES[name].file), name))
            others += sorted(
                child for name, child in by_name.items() if not name.startswith(_PASSED_OVER)
            )
        elif path.is_file():
            name = table or path.name.lower().removesuffix(".csv")
            if name not in TABLES:
                raise CertifyError(
                    f"{path}: not a known table name; rename it to one of "
                    f"{known_files} or pass --table NAME"
                )
            found.append((path, name))
        else:
            raise CertifyError(f"{path}: no such file or directory")
    if not found:
        names = [child.name for child in others[:5]] + (["..."] if len(others) > 5 else [])
        seen = f"found {', '.join(names)}; " if others else ""
        raise CertifyError(
            f"no known CSV files in {', '.join(map(str, paths))} "
            f"({seen}expected names such as {known_files})"
        )
    for child in others:
        warnings.append(f"{child}: not a known table name, not imported (known: {known_files})")
    return found


_UTF16_BOMS = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}
# the five bytes Windows-1252 leaves undefined: Python's codec refuses them
_UNDEFINED_CP1252 = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_SAVE_AS_UTF8 = 'save the export as UTF-8 (Excel: "CSV UTF-8")'
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
        return "an Excel workbook, not a CSV file"
    if b"\x00" in head.split(b"\n", 1)[0]:
        return "the header holds NUL bytes (UTF-16 without a byte order mark?)"
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


def utf16_problem(path: Path, codec: str) -> tuple[int, str] | None:
    """(line, reason) where a UTF-16 file stops being valid UTF-16; None when it is."""
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


def _first_lines(reader: Reader) -> Iterator[tuple[int, list[str]]]:
    """Each row of a csv reader with the line it starts on (a quoted value may span lines)."""
    line_end = reader.line_num
    for values in reader:
        yield line_end + 1, values
        line_end = reader.line_num


def _csv_problem(exc: csv.Error) -> str:
    """What the csv module's complaint means for the person who made the file."""
    if "field larger than field limit" in str(exc):
        return (
            f"a value from this line on is larger than {FIELD_LIMIT // 2**20} MB: a quote "
            'opened and never closed? (a value with a " in it is written as "" inside quotes)'
        )
    return f"cannot read this line as CSV: {exc}"


def _detect_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    return max(counts, key=lambda delimiter: counts[delimiter])


class FileReader:
    """One CSV file of a table: its header checked, then its rows with their line numbers.

    Problems go to `report_error` as `file:line: message`; notes for the user to `warnings`.
    """

    def __init__(
        self,
        path: Path,
        spec: TableSpec,
        report_error: Callable[[str], None],
        warnings: list[str],
    ) -> None:
        self.path = path
        self.spec = spec
        self.report_error = report_error
        self.warnings = warnings
        self.header: tuple[str, ...] = ()
        # where each of spec.known's columns is in a row (known once the header is read)
        self.positions: tuple[int, ...] = ()
        self._pad = False
        self._extra: list[tuple[str, int]] = []
        self._names: list[tuple[str, int]] = []
        # read, and found without data rows (blank lines are none): known once read
        self.empty = False
        # not read for a problem (not CSV text, a required column missing): its table's
        # rows from this file are unknown, so references to them cannot be judged
        self.unread = False
        self.encoding, self._quoted = detect_encoding(path)
        # an encoding problem is reported, and the file still read (undecodable bytes
        # replaced), so that the rest of its mistakes and references are checked too
        self._decode_errors = "strict"
        self._unreadable = False
        not_text = None if self.encoding.startswith("utf-16") else not_csv_text(path)
        if not_text is not None:
            report_error(f"{path}:1: {not_text}; " + _SAVE_AS_UTF8)
            self._unreadable = True
        elif self.encoding == "cp1252":
            undefined = undefined_in_cp1252(path)
            if undefined is None:
                warnings.append(f"{path}: not valid UTF-8; read as Windows-1252 (an Excel export?)")
            else:
                line, byte, total = undefined
                more = f" (and {total - 1} more in this file)" if total > 1 else ""
                report_error(
                    f"{path}:{line}: byte 0x{byte:02x} is neither UTF-8 nor Windows-1252{more}; "
                    + _SAVE_AS_UTF8
                )
                self._decode_errors = "replace"
        elif self.encoding.startswith("utf-16"):
            problem = utf16_problem(path, self.encoding)
            if problem is not None:
                report_error(
                    f"{path}:{problem[0]}: not valid UTF-16 ({problem[1]}); " + _SAVE_AS_UTF8
                )
                self._decode_errors = "replace"

    def open(self) -> bool:
        """Read the header; False when there is nothing to import from this file."""
        if self._unreadable:
            self.unread = True
            return False
        self._handle = self.path.open(
            encoding=self.encoding, errors=self._decode_errors, newline=""
        )
        first = self._handle.readline()
        if not first.strip("\ufeff \t\r\n"):
            self.warnings.append(f"{self.path}: empty file; nothing to import")
            self.empty = True
            self._handle.close()
            return False
        self._handle.seek(0)
        self._reader = csv.reader(self._handle, delimiter=_detect_delimiter(first))
        try:
            header = [name.strip().lower() for name in next(self._reader)]
        except csv.Error as exc:
            self.report_error(f"{self.path}:1: {_csv_problem(exc)}")
            self._handle.close()
            self.unread = True
            return False
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0].lstrip("\ufeff")
        self.header = tuple(header)
        missing = [column for column in self.spec.required if column not in header]
        if missing:
            for column in missing:
                self.report_error(
                    f"{self.path}:1: missing required column '{column}' "
                    f"(required: {', '.join(self.spec.required)}; found: {', '.join(header)})"
                )
            self._handle.close()
            self.unread = True
            return False
        seen: set[str] = set()
        for column in header:
            if column in seen and column:
                self.report_error(f"{self.path}:1: column '{column}' appears twice")
            seen.add(column)
        width = len(header)
        # a column the file lacks reads "" from a cell appended to each of its rows
        self.positions = tuple(
            header.index(name) if name in header else width for name in self.spec.known
        )
        self._pad = width in self.positions
        self._extra = [
            (name, index)
            for index, name in enumerate(header)
            if name not in self.spec.known and name
        ]
        self._names = [
            (name, header.index(name)) for name in self.spec.name_fields if name in header
        ]
        return True

    @property
    def has_extra(self) -> bool:
        """Whether the file has columns beyond its table's, kept as JSON in `extra`."""
        return bool(self._extra)

    def rows(
        self,
        convert: Converter,
        reject: Callable[[int, CellError, list[str]], None],
        overfull: Callable[[list[str]], None] = lambda values: None,
    ) -> Iterator[Row]:
        """Each data row through `convert` (the rows it ignores left out), its JSON `extra`
        appended when the file has extra columns. A row with a cell `convert` cannot read
        goes to `reject` with its line; one with more values than the header has names is
        reported here and its values go to `overfull`; blank rows are passed over."""
        reader = self._reader
        width = len(self.header)
        pad, quoted = self._pad, self._quoted
        if self._extra:
            convert = self._with_extra(convert)
        # a file without a double quote has one row a line: its rows are simply counted
        lines = _first_lines(reader) if quoted else enumerate(reader, reader.line_num + 1)
        data = False  # a row that is not blank: a file without one is "empty"
        row_end = reader.line_num
        try:
            # the common row, one line of the header's width, takes the shortest way
            for line, values in lines:
                row_end = reader.line_num
                if len(values) != width or (quoted and reader.line_num != line):
                    odd = self._odd_row(values, line, reader.line_num)
                    if odd is None:
                        if len(values) > width and any(values):
                            overfull(values)
                        data = data or any(values)
                        continue
                    values = odd
                if pad:
                    values.append("")
                try:
                    row = convert(values, line)
                except CellError as exc:
                    if any(values):  # else a blank row: no key, and nothing else either
                        data = True
                        reject(line, exc, values)
                    continue
                data = True
                if row is not None:
                    yield row
        except csv.Error as exc:
            self.report_error(f"{self.path}:{row_end + 1}: {_csv_problem(exc)}")
            return
        finally:
            self._handle.close()
        self.empty = not data
        if not data:
            self.warnings.append(f"{self.path}: header only; nothing to import")

    def _odd_row(self, values: list[str], line: int, line_end: int) -> list[str] | None:
        """A row of another width than the header's, or spanning lines: made to fit, or
        None when it is blank or has more values than the header has names (an error)."""
        width = len(self.header)
        if not any(values):
            return None
        if len(values) > width:
            if any(value.strip() for value in values[width:]):
                self.report_error(
                    f"{self.path}:{line}: {len(values)} fields but the header has "
                    f"{width} (an unquoted delimiter in a value?)"
                )
                return None
            values = values[:width]
        elif len(values) < width:
            values = values + [""] * (width - len(values))
        if line_end != line:  # a quoted value with a line break in it
            for name, index in self._names:
                value = values[index].strip()
                if "\n" in value or "\r" in value:
                    values[index] = " ".join(value.split())
                    self.warnings.append(
                        f"{self.path}:{line}: column '{name}': line break replaced by a space"
                    )
        return values

    def _with_extra(self, convert: Converter) -> Converter:
        extra = self._extra

        def convert_with_extra(values: list[str], line: int) -> Row | None:
            row = convert(values, line)
            if row is None:
                return None
            cells = {name: values[index].strip() for name, index in extra}
            return (*row, json.dumps(cells, ensure_ascii=False))

        return convert_with_extra
