"""The register as one zip: the kept PDFs by course, and register.csv with the list's columns."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from certify.register.keep import LISTED, Entry


def _file_name(text: str) -> str:
    from certify.render.layout import attachment_file_name

    return attachment_file_name(text)


def export_zip(entries: Iterable[Entry], pdf_of: Callable[[str], bytes], target: Path) -> int:
    """Write the zip whole or not at all (readable by its owner only); returns how many PDFs."""
    listed = list(entries)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=LISTED, lineterminator="\r\n")
    writer.writeheader()
    descriptor, temporary = tempfile.mkstemp(
        dir=target.resolve().parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    count = 0
    try:
        with (
            os.fdopen(descriptor, "wb") as handle,
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive,
        ):
            for entry in listed:
                writer.writerow(entry.listed())
                if entry.sha256 is None:
                    continue  # imported or withdrawn: listed, without a PDF
                name = _file_name(f"{entry.number} - {entry.full_name or ''}")
                archive.writestr(f"{_file_name(entry.course_id)[:-4]}/{name}", pdf_of(entry.number))
                count += 1
            archive.writestr("register.csv", table.getvalue().encode("utf-8-sig"))
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
