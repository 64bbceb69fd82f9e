"""Excel workbooks (.xlsx) read directly: one sheet's rows as the texts a CSV would hold,
each with its row number; date cells become ISO dates, so no day-first guess is needed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

from certify.errors import CertifyError
from certify.locale import _

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_TEXTS = 65_536  # distinct dates and numbers of a sheet remembered: a bound
# a zip file (.xlsx) and an OLE file (the older .xls): both made by Excel
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def is_workbook_name(path: Path) -> bool:
    return path.suffix.lower() in WORKBOOK_SUFFIXES


def not_a_workbook(path: Path) -> str | None:
    """Why a file named as a workbook is none (a CSV saved as .xlsx); None when it may be."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == ZIP_MAGIC:
        return None
    if head == OLE_MAGIC:
        return _("an old Excel workbook (.xls), not .xlsx; save it as .xlsx (Excel Workbook)")
    if not head:
        return _("an empty file, not an Excel workbook")
    return _("a text file (CSV?), not an Excel workbook; rename it to {name}").format(
        name=f"{path.stem}.csv"
    )


def cell_text(value: object) -> str:
    """A cell as the text a CSV export would hold: dates ISO, whole numbers without `.0`."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.second or value.microsecond:
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


class Sheet:
    """One sheet of a workbook: its name, and its rows with their numbers (from 1)."""

    def __init__(self, path: Path, sheet: str | None) -> None:
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            book = CalamineWorkbook.from_path(str(path))
        except (CalamineError, OSError, ValueError) as exc:
            said = _("cannot read it as an Excel workbook ({reason})").format(reason=exc)
            raise CertifyError(f"{path}: {said}") from None
        names = list(book.sheet_names)
        if not names:
            raise CertifyError(f"{path}: " + _("a workbook without sheets"))
        if sheet is None:
            self.name = names[0]
        else:
            folded = {name.strip().casefold(): name for name in names}
            found = folded.get(sheet.strip().casefold())
            if found is None:
                from certify.errors import did_you_mean

                said = _("no sheet {sheet} (its sheets: {names})").format(
                    sheet=repr(sheet), names=", ".join(names)
                )
                raise CertifyError(f"{path}: {said}{did_you_mean(sheet, names)}")
            self.name = found
        self._sheet = book.get_sheet_by_name(self.name)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each row's number and its cells as texts; the leading empty rows too."""
        # an export repeats its dates and numbers on every row: each is written once, keyed
        # by its type too (1, 1.0 and True are equal keys but different texts)
        texts: dict[tuple[type, object], str] = {}

        def text(cell: object) -> str:
            key = (type(cell), cell)
            found = texts.get(key)
            if found is None:
                if len(texts) >= _TEXTS:
                    texts.clear()
                found = texts[key] = cell_text(cell)
            return found

        for number, cells in enumerate(self._sheet.iter_rows(), start=1):
            yield number, [cell if type(cell) is str else text(cell) for cell in cells]
