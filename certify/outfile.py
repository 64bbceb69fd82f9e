"""A file a person asked for (`report --out`): its place checked before the work, then
written whole or not at all; a problem names that file, never a temporary one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from certify.errors import CertifyError


def check_target(path: Path) -> None:
    """Refuse, before any work, a file that could not be written: its folder missing, or a
    folder in its place."""
    folder = path.resolve().parent
    if folder.exists() and not folder.is_dir():
        raise CertifyError(
            f"{path}: {path.parent} is a file, not a folder",
            hint="give --out a file in a folder",
        )
    if not folder.is_dir():
        raise CertifyError(
            f"{path}: the folder {path.parent} does not exist",
            hint=f"create it first (mkdir -p {path.parent}), or give --out a file in a folder "
            "that exists",
        )
    if path.is_dir():
        raise CertifyError(
            f"{path}: is a folder", hint=f"give --out a file name, such as {path / 'report.html'}"
        )


def write_whole(path: Path, text: str) -> None:
    """Write the file whole or not at all: a temporary file beside it, then a rename.

    A problem names `path`, never the temporary file, which the user has not heard of.
    """
    check_target(path)
    folder = path.resolve().parent
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise _unwritable(path, exc) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _unwritable(path: Path, exc: OSError) -> CertifyError:
    return CertifyError(
        f"{path}: cannot be written: {exc.strerror or exc}",
        hint=f"certify must be able to create files in {path.parent}: check its owner, its "
        "permissions and the free space",
    )
