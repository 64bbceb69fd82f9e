"""The run lock: one process at a time sends, marks or settles from a database."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from certify.errors import LockedError
from certify.locale import _
from certify.store.database import missing_database

LOCK_WAIT_SECONDS = 10.0


@contextmanager
def run_lock(db: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """An exclusive lock on `DB.lock`, for a database that exists; the kernel releases it if
    the process dies."""
    if not db.exists():  # and no stray lock file beside a database that is not there
        raise missing_database(db)
    path = db.with_name(db.name + ".lock")
    handle = path.open("a")
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        _("another certify run holds {path}").format(path=path),
                        hint=_(
                            "it will finish by itself: try again then, or wait longer with "
                            "--wait SECONDS (a run-due from cron leaves the rest to the next tick)"
                        ),
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()
