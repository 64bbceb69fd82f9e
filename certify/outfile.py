"""A file a person asked for (`report --out`): its place checked before the work, then
written whole or not at all; a problem names that file, never a temporary one.

Every file certify writes may hold personal data: it is created readable by its owner
only (0600), and a folder certify creates for such files is 0700, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from certify.errors import CertifyError, os_reason
from certify.locale import _


def check_target(path: Path) -> None:
    """Refuse, before any work, a file that could not be written: its folder missing, or a
    folder in its place. A link is followed: the file it points to is the one written."""
    target = path.resolve()
    folder = target.parent
    through = " " + _("(a link to {target})").format(target=target) if path.is_symlink() else ""
    if folder.exists() and not folder.is_dir():
        said = _("{folder} is a file, not a folder").format(
            folder=folder if through else path.parent
        )
        raise CertifyError(f"{path}{through}: {said}", hint=_("give --out a file in a folder"))
    if not folder.is_dir():
        if through:
            said = _("is a link to {target}, in a folder that does not exist")
            raise CertifyError(
                f"{path}: {said.format(target=target)}",
                hint=_(
                    "point the link at a file in a folder that exists, or remove it (rm {path})"
                ).format(path=path),
            )
        said = _("the folder {folder} does not exist").format(folder=path.parent)
        raise CertifyError(
            f"{path}: {said}",
            hint=_(
                "create it first (mkdir -p {folder}), or give --out a file in a folder that exists"
            ).format(folder=path.parent),
        )
    if target.is_dir():
        raise CertifyError(
            f"{path}{through}: " + _("is a folder"),
            hint=_("give --out a file name, such as {path}").format(path=path / "report.html"),
        )


def write_whole(path: Path, text: str) -> None:
    """Write the file whole or not at all: a temporary file beside it, then a rename.

    A link is followed and the file it points to replaced (the link stays), so the rename
    never crosses file systems. A problem names `path`, never the temporary file, which
    the user has not heard of.
    """
    check_target(path)
    target = path.resolve()
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise _unwritable(path, exc) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def make_private_folder(path: Path) -> None:
    """Create `path` and any missing folder above it, each readable by its owner only; a
    folder that exists already keeps its mode (its owner chose it)."""
    missing = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another run
            folder.mkdir(mode=PRIVATE_FOLDER)
        os.chmod(folder, PRIVATE_FOLDER)  # mkdir's mode passes through the umask


def create_private_file(path: Path) -> None:
    """Create an empty file readable by its owner only, before anything is written in it;
    an existing file is left alone."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return
    os.fchmod(descriptor, PRIVATE_FILE)  # os.open's mode passes through the umask
    os.close(descriptor)


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write a file (replacing one of that name) readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE)
        handle.write(data)


def _unwritable(path: Path, exc: OSError) -> CertifyError:
    said = _("cannot be written: {reason}").format(reason=os_reason(exc))
    return CertifyError(
        f"{path}: {said}",
        hint=_(
            "certify must be able to create files in {folder}: check its owner, its "
            "permissions and the free space"
        ).format(folder=path.resolve().parent),
    )
