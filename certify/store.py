"""The SQLite store: the schema, numbered migrations, and opening a database safely."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from certify.errors import CertifyError

DEFAULT_DB = "certify.db"
BUSY_TIMEOUT_MS = 10_000

# Each entry is one migration; its number is its position (1-based). Never edit a landed one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE course_types (
        course_type TEXT PRIMARY KEY,
        attendance_percentage INTEGER,
        extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER
    );
    CREATE TABLE courses (
        course_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        course_type TEXT,
        start TEXT,
        start_is_date INTEGER NOT NULL DEFAULT 0,
        "end" TEXT NOT NULL,
        end_is_date INTEGER NOT NULL DEFAULT 0,
        location TEXT,
        extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER
    );
    CREATE TABLE parts (
        part_id TEXT PRIMARY KEY,
        course_id TEXT NOT NULL,
        name TEXT NOT NULL,
        start TEXT,
        "end" TEXT,
        attendance_required INTEGER NOT NULL DEFAULT 0,
        pass_required INTEGER NOT NULL DEFAULT 0,
        extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER
    );
    CREATE INDEX parts_course ON parts(course_id);
    CREATE TABLE persons (
        person_id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        first_name TEXT,
        infix TEXT,
        last_name TEXT,
        full_name TEXT,
        language TEXT,
        extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER
    );
    CREATE TABLE enrollments (
        course_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'enrolled',
        enrolled_at TEXT,
        first_seen_at TEXT NOT NULL,
        extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER,
        PRIMARY KEY (course_id, person_id)
    ) WITHOUT ROWID;
    CREATE INDEX enrollments_person ON enrollments(person_id);
    CREATE TABLE attendance (
        part_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        present INTEGER NOT NULL,
        registered_at TEXT NOT NULL,
        registered_given INTEGER NOT NULL DEFAULT 0,
        extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER,
        PRIMARY KEY (part_id, person_id)
    ) WITHOUT ROWID;
    CREATE INDEX attendance_person ON attendance(person_id);
    CREATE TABLE results (
        part_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        passed INTEGER NOT NULL,
        grade TEXT,
        registered_at TEXT NOT NULL,
        registered_given INTEGER NOT NULL DEFAULT 0,
        extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER,
        PRIMARY KEY (part_id, person_id)
    ) WITHOUT ROWID;
    CREATE INDEX results_person ON results(person_id);
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        now TEXT NOT NULL,
        snapshot INTEGER NOT NULL,
        files TEXT NOT NULL,
        counts TEXT NOT NULL
    );
    CREATE TABLE action_since (
        action TEXT PRIMARY KEY,
        since TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE TABLE course_skips (
        action TEXT NOT NULL,
        course_id TEXT NOT NULL,
        since TEXT NOT NULL,
        PRIMARY KEY (action, course_id)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        action TEXT NOT NULL,
        course_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        state TEXT NOT NULL,
        due_at TEXT,
        email TEXT,
        message_id TEXT,
        certificate_number TEXT UNIQUE,
        attempts INTEGER NOT NULL DEFAULT 0,
        first_attempt_at TEXT,
        next_attempt_at TEXT,
        last_error TEXT,
        last_code INTEGER,
        claimed_at TEXT,
        sent_at TEXT,
        figures TEXT,
        import_id INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (action, course_id, person_id)
    );
    CREATE INDEX deliveries_state ON deliveries(state);
    CREATE TABLE delivery_events (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries(id),
        at TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX delivery_events_delivery ON delivery_events(delivery_id);
    """,
    # 2: the record of each run-due, for `certify status` and the report
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        now TEXT NOT NULL,
        finished_at TEXT,
        outcome TEXT NOT NULL,
        exit_code INTEGER,
        counts TEXT,
        detail TEXT
    );
    """,
]


class Store:
    """One open certify database."""

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
            raise CertifyError(
                f"{path}: no such database",
                hint="import data first (certify import exports/) or pass --db / set CERTIFY_DB",
            )
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # every commit reaches the disk: a claim is durable before its message is handed over
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        store = cls(path, conn)
        store.migrate()
        return store

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """For dry runs and reports: the file is never written, not even its journal mode."""
        if not path.exists():
            raise CertifyError(
                f"{path}: no such database",
                hint="import data first (certify import exports/) or pass --db / set CERTIFY_DB",
            )
        conn = sqlite3.connect(
            f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None, timeout=10
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        store = cls(path, conn)
        if store.schema_version() < len(MIGRATIONS):
            raise CertifyError(
                f"{path}: the database is from an older certify",
                hint="run any command that writes (certify import) to upgrade it",
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
        with self.transaction():
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"
            )
            current = self.schema_version()
            for number, script in enumerate(MIGRATIONS, start=1):
                if number > current:
                    for statement in _statements(script):
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

    def latest_import_id(self) -> int | None:
        """The most recent import, or None before the first."""
        row = self.conn.execute("SELECT max(id) FROM imports").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.conn.close()


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def db_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--db, else CERTIFY_DB, else certify.db."""
    return Path(explicit or os.environ.get("CERTIFY_DB") or DEFAULT_DB)
