"""Opening a certify database safely: migrating it, short write transactions, its zone."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import cast

from certify.errors import CertifyError
from certify.locale import _
from certify.store.schema import MIGRATIONS, statements

DEFAULT_DB = "certify.db"
BUSY_TIMEOUT_MS = 10_000

# sqlite3 binds int, float and str at once, but looks every None up as an object to adapt,
# a search that fails slowly (half a microsecond a value; an import binds hundreds of
# thousands of them). Registered, None is found at once and still binds as NULL.
sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))  # C, no frame

# the views show local times for moments in these years (UTC offsets taken from zoneinfo)
ZONE_FIRST_YEAR = 1970
ZONE_LAST_YEAR = 2100


def missing_database(path: Path) -> CertifyError:
    """The error for a database that is not there (yet)."""
    return CertifyError(
        _("{path}: no such database").format(path=path),
        hint=_("import data first (certify import exports/) or pass --db / set CERTIFY_DB"),
    )


class Store:
    """One open certify database."""

    # The database this process opened last, named in a database error that SQLite words
    # without a path.
    last_opened: Path | None = None

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Store:
        """Open (and migrate) the database; with `create=False` a missing file is an error."""
        if not create and not path.exists():
            raise missing_database(path)
        Store.last_opened = path
        if create and not path.exists() and path.parent.is_dir():
            from certify.outfile import create_private_file

            # SQLite gives the -wal and -shm files the mode of the database: 0600 for all
            create_private_file(path)
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # every commit reaches the disk: a claim is durable before its message is handed over
        conn.execute("PRAGMA synchronous = FULL")
        # The keys are declared for browsing, not enforced: certify checks references itself
        # and reports every problem of an import at once with its place, and a --snapshot may
        # remove a person whose delivery history stays (the log is never removed).
        conn.execute("PRAGMA foreign_keys = OFF")
        store = cls(path, conn)
        try:
            store.migrate()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """For dry runs and reports: the file is never written, not even its journal mode."""
        if not path.exists():
            raise missing_database(path)
        Store.last_opened = path
        conn = sqlite3.connect(
            f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None, timeout=10
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        store = cls(path, conn)
        if store.schema_version() < len(MIGRATIONS):
            raise CertifyError(
                _("{path}: the database is from an older certify").format(path=path),
                hint=_("run any command that writes (certify import) to upgrade it"),
            )
        return store

    def schema_version(self) -> int:
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = '_migrations'"
        ).fetchone()
        if not exists:
            return 0
        row = self.conn.execute("SELECT max(version) FROM _migrations").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> None:
        """Apply the migrations this database lacks, all in one transaction."""
        if self.schema_version() == len(MIGRATIONS):
            return  # up to date: no write lock, so opening never waits for a run that writes
        with self.transaction():
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"
            )
            current = self.schema_version()
            for number, migration in enumerate(MIGRATIONS, start=1):
                if number > current:
                    if callable(migration):
                        migration(self.conn)
                    else:
                        for statement in statements(migration):
                            self.conn.execute(statement)
                    self.conn.execute(
                        "INSERT INTO _migrations VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
                        (number,),
                    )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction, taken at once (BEGIN IMMEDIATE) so it never deadlocks."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def record_zone(self, tz: tzinfo) -> bool:
        """Show local times of `tz` in the views; rewrites the offsets only when the zone changed."""
        if self.zone_recorded(tz):
            return False
        with self.transaction():
            self.write_zone(tz)
        return True

    def zone_recorded(self, tz: tzinfo) -> bool:
        """Whether the views already show local times of `tz`."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'timezone'").fetchone()
        return row is not None and row[0] == str(tz)  # str: the IANA name; 'UTC' for UTC

    def write_zone(self, tz: tzinfo) -> None:
        """record_zone inside a transaction already open: an import commits the zone with
        its data, at the cost of one commit instead of two."""
        self.conn.execute("DELETE FROM zone_offsets")
        self.conn.executemany("INSERT INTO zone_offsets VALUES (?, ?, ?)", zone_offset_changes(tz))
        self.conn.execute(
            "INSERT INTO settings VALUES ('timezone', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(tz),),
        )

    def setting(self, key: str) -> str | None:
        """A value certify keeps for itself between commands (the zone, say), or None."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def keep_setting(self, key: str, value: str) -> None:
        """Keep a value for later commands, in a transaction of its own."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO settings VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def latest_import_id(self) -> int | None:
        """The most recent import, or None before the first."""
        row = self.conn.execute("SELECT max(id) FROM imports").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.conn.close()


def zone_offset_changes(
    tz: tzinfo, first_year: int = ZONE_FIRST_YEAR, last_year: int = ZONE_LAST_YEAR
) -> list[tuple[str, int, str]]:
    """(UTC moment, offset in minutes, abbreviation) from each change of `tz` on; the first
    row holds from the beginning of time, the last until the end."""

    def state(moment: datetime) -> tuple[timedelta | None, str | None]:
        local = moment.astimezone(tz)
        return local.utcoffset(), local.tzname()

    def in_force(moment: datetime) -> tuple[int, str]:
        offset, name = state(moment)
        return int((offset or timedelta(0)).total_seconds() // 60), name or ""

    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    current = state(moment)
    changes = [("0001-01-01T00:00:00Z", *in_force(moment))]
    # a day at a time, then halving to the second: zones change at most once in a day.
    # The daily look compares the offset and name as they come (the hot loop: 48,000 days)
    step = timedelta(days=1)
    second = timedelta(seconds=1)
    while moment < end:
        later = moment + step
        if state(later) == current:
            moment = later
            continue
        before, after = moment, later
        while after - before > second:
            middle = before + (after - before) / 2
            before, after = (before, middle) if state(middle) != current else (middle, after)
        current = state(after)
        changes.append((after.strftime("%Y-%m-%dT%H:%M:%SZ"), *in_force(after)))
        moment = later
    return changes


def db_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--db, else CERTIFY_DB, else certify.db."""
    return Path(explicit or os.environ.get("CERTIFY_DB") or DEFAULT_DB)
