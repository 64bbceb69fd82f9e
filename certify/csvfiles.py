"""Reading CSV exports: which files a path holds, their encoding and delimiter, their rows."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from certify.errors import CertifyError, UsageError
from certify.tables import ORDER, TABLES, TableSpec

csv.field_size_limit(10 * 1024 * 1024)


def collect_files(paths: Sequence[Path], table: str | None) -> list[tuple[Path, str]]:
    """(file, table) pairs for the paths given; directories yield every known file in them."""
    if table is not None and table not in TABLES:
        raise UsageError(f"unknown table {table!r} (one of: {', '.join(TABLES)})")
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            if table is not None:
                raise UsageError("--table goes with a single file, not a directory")
            by_name = {child.name.lower(): child for child in path.iterdir() if child.is_file()}
            for name in ORDER:
                if TABLES[name].file in by_name:
                    found.append((by_name[TABLES[name].file], name))
        elif path.is_file():
            name = table or path.name.lower().removesuffix(".csv")
            if name not in TABLES:
                raise CertifyError(
                    f"{path}: not a known table name; rename it to one of "
                    f"{', '.join(spec.file for spec in TABLES.values())} or pass --table NAME"
                )
            found.append((path, name))
        else:
            raise CertifyError(f"{path}: no such file or directory")
    if not found:
        raise CertifyError(
            f"no known CSV files in {', '.join(map(str, paths))} "
            f"(expected names such as {', '.join(spec.file for spec in TABLES.values())})"
        )
    return found


def detect_encoding(path: Path) -> str:
    """The file's encoding: UTF-8 (with or without BOM) when it decodes, else Windows-1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


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
        self.encoding = detect_encoding(path)
        if self.encoding == "cp1252":
            warnings.append(f"{path}: not valid UTF-8; read as Windows-1252 (an Excel export?)")

    def open(self) -> bool:
        """Read the header; False when there is nothing to import from this file."""
        self._handle = self.path.open(encoding=self.encoding, newline="")
        first = self._handle.readline()
        if not first.strip():
            self.warnings.append(f"{self.path}: empty file; nothing to import")
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
            if not any_rows:
                self.warnings.append(f"{self.path}: header only; nothing to import")
        finally:
            self._handle.close()
