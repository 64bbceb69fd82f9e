"""A copy of the database, taken safely while runs may be writing to it."""

from __future__ import annotations

import os
from pathlib import Path

from certify.errors import CertifyError
from certify.locale import _
from certify.outfile import create_private_file
from certify.store.database import Store


def backup(store: Store, target: Path) -> None:
    """Write a consistent copy of the database to `target`, a file that must not exist yet."""
    if target.exists():
        raise _exists(target)
    if not target.parent.is_dir():
        raise CertifyError(
            _("{target}: the folder {folder} does not exist").format(
                target=target, folder=target.parent
            ),
            hint=_("create it first (mkdir -p {folder}), or choose another place").format(
                folder=target.parent
            ),
        )
    # written under another name first, so that a backup cut short never looks finished
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        # made empty and private first: VACUUM INTO fills it and keeps its mode
        create_private_file(partial)
        # One read transaction: in WAL mode it sees the last commit and neither waits for nor
        # blocks a run that is writing. The copy is compacted and is a database on its own.
        store.conn.execute("VACUUM INTO ?", (str(partial),))
        _publish(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _publish(partial: Path, target: Path) -> None:
    """Give the finished copy its name, never replacing a file that appeared meanwhile."""
    try:
        os.link(partial, target)  # refuses an existing name: no gap between check and write
    except FileExistsError:
        raise _exists(target) from None
    except OSError:
        # a file system without hard links (FAT, some network shares): check, then rename
        if target.exists():
            raise _exists(target) from None
        partial.replace(target)


def _exists(target: Path) -> CertifyError:
    return CertifyError(
        _("{target}: already exists").format(target=target),
        hint=_("a backup never overwrites a file; choose a new name or move the old one away"),
    )
