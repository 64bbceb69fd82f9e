"""Reading one export file (CSV, or an Excel workbook): its encoding and delimiter, its
header mapped to columns, its rows with their line numbers."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from certify.errors import CertifyError
from certify.ingest.cells import CellError
from certify.ingest.encodings import (
    SAVE_AS_UTF8,
    decode_problem,
    detect_encoding,
    in_declared_encoding,
    not_csv_text,
    undefined_in_cp1252,
    utf8_beyond_ascii,
)
from certify.ingest.mapping import Header, map_header
from certify.ingest.tables import Converter, Row, TableSpec
from certify.ingest.workbooks import Sheet, is_workbook_name, not_a_workbook
from certify.locale import _

if TYPE_CHECKING:
    from _csv import Reader

FIELD_LIMIT = 10 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)


def _first_lines(reader: Reader) -> Iterator[tuple[int, list[str]]]:
    """Each row of a csv reader with the line it starts on (a quoted value may span lines)."""
    line_end = reader.line_num
    for values in reader:
        yield line_end + 1, values
        line_end = reader.line_num


def _csv_problem(exc: csv.Error) -> str:
    """What the csv module's complaint means for the person who made the file."""
    if "field larger than field limit" in str(exc):
        return _(
            "a value from this line on is larger than {size} MB: a quote opened and never "
            'closed? (a value with a " in it is written as "" inside quotes)'
        ).format(size=FIELD_LIMIT // 2**20)
    return _("cannot read this line as CSV: {reason}").format(reason=exc)


def _detect_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    return max(counts, key=lambda delimiter: counts[delimiter])


@dataclass(frozen=True)
class ReadOptions:
    """How actions.yaml's `import:` section says a file is read: a declared encoding, which
    header is which column, and the sheet of a workbook."""

    encoding: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    sheet: str | None = None
    # column -> where actions.yaml maps it (actions.yaml:29:7): a wrong header is fixed there
    mapped_at: Mapping[str, str] = field(default_factory=dict)


class FileReader:
    """One export file of a table (CSV, or a sheet of an .xlsx workbook): its header checked
    and mapped to columns, then its rows with their line numbers.

    Problems go to `report_error` as `FILE:LINE: message` (`FILE!SHEET:ROW` in a workbook);
    notes for the user to `warnings`.
    """

    def __init__(
        self,
        path: Path,
        spec: TableSpec,
        report_error: Callable[[str], None],
        warnings: list[str],
        options: ReadOptions | None = None,
    ) -> None:
        self.path = path
        self.spec = spec
        self.report_error = report_error
        self.warnings = warnings
        self.options = options or ReadOptions()
        # the file as messages name it: a workbook's sheet is added once it is opened
        self.label = str(path)
        self.header: tuple[str, ...] = ()
        self.mapped = Header([], {})
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
        self.workbook = is_workbook_name(path)
        # an encoding problem is reported, and the file still read (undecodable bytes
        # replaced), so that the rest of its mistakes and references are checked too
        self._decode_errors = "strict"
        self._unreadable = False
        self._handle: TextIO | None = None
        self._reader: Reader | None = None
        self._lines: Iterator[tuple[int, list[str]]] = iter(())
        self.encoding, self._quoted = "utf-8", False
        if self.workbook:
            not_book = not_a_workbook(path)
            if not_book is not None:
                report_error(f"{path}:1: {not_book}")
                self._unreadable = True
            return
        declared = self.options.encoding
        if declared is not None:
            self.encoding, self._quoted, problem = in_declared_encoding(path, declared)
            not_text = not_csv_text(path)
            if not_text is not None:
                report_error(f"{path}:1: {not_text}")
                self._unreadable = True
            elif problem is not None:
                said = _(
                    "bytes that are not {declared} ({reason}), the encoding the import: section "
                    "of actions.yaml declares; save the export in that encoding, or declare "
                    "the one it has"
                ).format(declared=declared, reason=problem[1])
                report_error(f"{path}:{problem[0]}: {said}")
                self._decode_errors = "replace"
            elif not self.encoding.startswith("utf") and utf8_beyond_ascii(path):
                # read as declared, `Zoë` would be stored as `ZoÃ«` on every certificate
                said = _(
                    "UTF-8, not {declared} as the import: section of actions.yaml declares; "
                    "read as UTF-8 (declare the encoding the exports have)"
                ).format(declared=declared)
                warnings.append(f"{path}: {said}")
                self.encoding = "utf-8-sig"
            return
        self.encoding, self._quoted = detect_encoding(path)
        not_text = None if self.encoding.startswith("utf-16") else not_csv_text(path)
        if not_text is not None:
            workbook = "workbook" in not_text
            report_error(f"{path}:1: {not_text}" + ("" if workbook else "; " + _(SAVE_AS_UTF8)))
            self._unreadable = True
        elif self.encoding == "cp1252":
            undefined = undefined_in_cp1252(path)
            if undefined is None:
                said = _(
                    "not valid UTF-8; read as Windows-1252 (an Excel export?); declare "
                    "`import: encoding: cp1252` in actions.yaml to read it without this warning"
                )
                warnings.append(f"{path}: {said}")
            else:
                line, byte, total = undefined
                said = (
                    _(
                        "byte {byte} is neither UTF-8 nor Windows-1252 (and {more} more in this "
                        "file); {advice}"
                    )
                    if total > 1
                    else _("byte {byte} is neither UTF-8 nor Windows-1252; {advice}")
                )
                said = said.format(byte=f"0x{byte:02x}", more=total - 1, advice=_(SAVE_AS_UTF8))
                report_error(f"{path}:{line}: {said}")
                self._decode_errors = "replace"
        elif self.encoding.startswith("utf-16"):
            problem = decode_problem(path, self.encoding)
            if problem is not None:
                said = _("not valid UTF-16 ({reason}); {advice}").format(
                    reason=problem[1], advice=_(SAVE_AS_UTF8)
                )
                report_error(f"{path}:{problem[0]}: {said}")
                self._decode_errors = "replace"

    def open(self) -> bool:
        """Read the header; False when there is nothing to import from this file."""
        if self._unreadable:
            self.unread = True
            return False
        found = self._open_sheet() if self.workbook else self._open_csv()
        if found is None:
            return False
        header_line, written = found
        mapped = map_header(
            written,
            self.options.columns,
            where=f"{self.label}:{header_line}",
            report_error=self.report_error,
            mapped_at=self.options.mapped_at,
        )
        if mapped is None:
            self._close()
            self.unread = True
            return False
        self.mapped = mapped
        header = mapped.names
        self.header = tuple(header)
        missing = [column for column in self.spec.required if column not in header]
        if missing:
            for column in missing:
                said = _(
                    "missing required column '{column}' (required: {required}; found: {found})"
                )
                self.report_error(
                    f"{self.label}:{header_line}: "
                    + said.format(
                        column=column,
                        required=", ".join(self.spec.required),
                        found=", ".join(header),
                    )
                )
            self._close()
            self.unread = True
            return False
        seen: set[str] = set()
        for column in header:
            if column in seen and column:
                said = _("column '{column}' appears twice").format(column=column)
                self.report_error(f"{self.label}:{header_line}: {said}")
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
        if self.workbook and self._names:
            self._lines = self._names_on_one_line(self._lines)
        return True

    def _names_on_one_line(
        self, lines: Iterator[tuple[int, list[str]]]
    ) -> Iterator[tuple[int, list[str]]]:
        """A workbook's rows, a line break in a name cell (Alt+Enter) replaced by a space
        with a warning, as in a CSV file's quoted value."""
        names = self._names
        last = max(index for _, index in names)
        for line, values in lines:
            # the common row has no line break in any name: one look at them all
            if last < len(values):
                joined = "".join([values[index] for _, index in names])
                if "\n" not in joined and "\r" not in joined:
                    yield line, values
                    continue
            for name, index in names:
                value = values[index] if index < len(values) else ""
                if "\n" in value or "\r" in value:
                    values[index] = " ".join(value.split())
                    self._line_break_replaced(line, name)
            yield line, values

    def _open_csv(self) -> tuple[int, list[str]] | None:
        handle = self._handle = self.path.open(
            encoding=self.encoding, errors=self._decode_errors, newline=""
        )
        first = handle.readline()
        if not first.strip("\ufeff \t\r\n"):
            self.warnings.append(self.label + ": " + _("empty file; nothing to import"))
            self.empty = True
            handle.close()
            return None
        handle.seek(0)
        reader = csv.reader(handle, delimiter=_detect_delimiter(first))
        self._reader = reader
        try:
            header = next(reader)
        except csv.Error as exc:
            self.report_error(f"{self.label}:1: {_csv_problem(exc)}")
            handle.close()
            self.unread = True
            return None
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0].lstrip("\ufeff")
        self._lines = (
            _first_lines(reader) if self._quoted else enumerate(reader, reader.line_num + 1)
        )
        return 1, header

    def _open_sheet(self) -> tuple[int, list[str]] | None:
        try:
            sheet = Sheet(self.path, self.options.sheet)
        except CertifyError as exc:
            self.report_error(exc.message)
            self.unread = True
            return None
        self.label = f"{self.path}!{sheet.name}"
        rows = sheet.rows()
        for number, cells in rows:
            if any(cell.strip() for cell in cells):
                self._lines = rows
                return number, cells
        self.warnings.append(self.label + ": " + _("empty sheet; nothing to import"))
        self.empty = True
        return None

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def describe(self, column: str) -> str:
        """A column as a message names it: with its header when the file maps it."""
        return self.mapped.describe(column)

    def keep_no_extra(self) -> None:
        """Leave the columns beyond the table's out (a flat file's go nowhere)."""
        self._extra = []

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
        width = len(self.header)
        pad = self._pad
        # only a CSV file with a double quote has rows over more than one line
        reader = self._reader if self._quoted and not self.workbook else None
        if self._extra:
            convert = self._with_extra(convert)
        data = False  # a row that is not blank: a file without one is "empty"
        row_end = 1 if reader is None else reader.line_num
        try:
            # the common row, one line of the header's width, takes the shortest way
            for line, values in self._lines:
                row_end = line if reader is None else reader.line_num
                if len(values) != width or (reader is not None and reader.line_num != line):
                    odd = self._odd_row(values, line, line if reader is None else reader.line_num)
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
            self.report_error(f"{self.label}:{row_end + 1}: {_csv_problem(exc)}")
            self.unread = True
            return
        finally:
            self._close()
        self.empty = not data
        if not data:
            self.warnings.append(self.label + ": " + _("header only; nothing to import"))

    def _odd_row(self, values: list[str], line: int, line_end: int) -> list[str] | None:
        """A row of another width than the header's, or spanning lines: made to fit, or
        None when it is blank or has more values than the header has names (an error)."""
        width = len(self.header)
        if not any(values):
            return None
        if len(values) > width:
            if any(value.strip() for value in values[width:]):
                said = _(
                    "{count} fields but the header has {width} (an unquoted delimiter in a value?)"
                ).format(count=len(values), width=width)
                self.report_error(f"{self.label}:{line}: {said}")
                return None
            values = values[:width]
        elif len(values) < width:
            values = values + [""] * (width - len(values))
        if line_end != line:  # a quoted value with a line break in it
            for name, index in self._names:
                value = values[index].strip()
                if "\n" in value or "\r" in value:
                    values[index] = " ".join(value.split())
                    self._line_break_replaced(line, name)
        return values

    def _line_break_replaced(self, line: int, name: str) -> None:
        said = _("column {column}: line break replaced by a space")
        self.warnings.append(f"{self.label}:{line}: {said.format(column=self.describe(name))}")

    def _with_extra(self, convert: Converter) -> Converter:
        extra = self._extra

        def convert_with_extra(values: list[str], line: int) -> Row | None:
            row = convert(values, line)
            if row is None:
                return None
            cells = {name: values[index].strip() for name, index in extra}
            return (*row, json.dumps(cells, ensure_ascii=False))

        return convert_with_extra
