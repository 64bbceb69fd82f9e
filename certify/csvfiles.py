"""Reading CSV exports: which files a path holds, their encoding and delimiter, their rows."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from certify.errors import CertifyError, UsageError
from certify.tables import ORDER, TABLES, TableSpec

csv.field_size_limit(10 * 1024 * 1024)


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


def detect_encoding(path: Path) -> str:
    """The file's encoding: UTF-16 with a BOM, UTF-8 (BOM or not) when it decodes, else
    Windows-1252."""
    with path.open("rb") as handle:
        codec = _UTF16_BOMS.get(handle.read(2))
        if codec is not None:
            return codec
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


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
        # read, and found without data rows (blank lines are none): known once read
        self.empty = False
        self.encoding = detect_encoding(path)
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
        header = [name.strip().lower() for name in next(self._reader)]
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
            return False
        seen: set[str] = set()
        for column in header:
            if column in seen and column:
                self.report_error(f"{self.path}:1: column '{column}' appears twice")
            seen.add(column)
        return True

    def rows(
        self, finish: Callable[[int, tuple[str, ...], dict[str, str]], tuple[Any, ...] | None]
    ) -> Iterator[tuple[Any, ...]]:
        """Each row, trimmed and in spec.known order, passed through `finish` (None: dropped)."""
        header = list(self.header)
        reader = self._reader
        try:
            # a missing optional column reads "" (the sentinel appended to short rows)
            sentinel = len(header)
            positions = [header.index(n) if n in header else sentinel for n in self.spec.known]
            pick = itemgetter(*positions)
            needs_sentinel = sentinel in positions
            extra_names = [name for name in header if name not in self.spec.known and name]
            extra_index = [
                i for i, name in enumerate(header) if name not in self.spec.known and name
            ]
            name_positions = [self.spec.known.index(n) for n in self.spec.name_fields]
            width = len(header)
            line_end = reader.line_num
            any_rows = False
            strip = str.strip
            no_extra: dict[str, str] = {}
            for values in reader:
                line = line_end + 1
                line_end = reader.line_num
                if not any(values):
                    continue
                any_rows = True
                if len(values) != width:
                    if len(values) > width:
                        if any(v.strip() for v in values[width:]):
                            self.report_error(
                                f"{self.path}:{line}: {len(values)} fields but the header has "
                                f"{width} (an unquoted delimiter in a value?)"
                            )
                            continue
                        values = values[:width]
                    else:
                        values = values + [""] * (width - len(values))
                if needs_sentinel:
                    values.append("")
                known = tuple(map(strip, pick(values)))
                extra = (
                    {
                        name: values[i].strip()
                        for name, i in zip(extra_names, extra_index, strict=True)
                    }
                    if extra_index
                    else no_extra
                )
                for position in name_positions:
                    value = known[position]
                    if "\n" in value or "\r" in value:
                        known = (*known[:position], " ".join(value.split()), *known[position + 1 :])
                        self.warnings.append(
                            f"{self.path}:{line}: column '{self.spec.known[position]}': "
                            "line break replaced by a space"
                        )
                finished = finish(line, known, extra)
                if finished is not None:
                    yield finished
            self.empty = not any_rows
            if not any_rows:
                self.warnings.append(f"{self.path}: header only; nothing to import")
        finally:
            self._handle.close()
