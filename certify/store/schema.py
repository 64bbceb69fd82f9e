"""The schema of a certify database: the numbered migrations that build it, in order.

Each migration is a script of SQL statements, or a function for what SQL cannot say
alone; `store.Store.migrate` applies those a database has not seen yet, in one transaction.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

# A migration is a script of SQL statements, or a function for what SQL cannot say alone.
Migration = str | Callable[[sqlite3.Connection], None]

# Declared so that Datasette and sqlite-utils show the links between tables; certify itself
# does not enforce them (see Store.open). A course may name a type not imported yet.
_FOREIGN_KEYS: dict[str, tuple[str, ...]] = {
    "courses": ("FOREIGN KEY (course_type) REFERENCES course_types(course_type)",),
    "parts": ("FOREIGN KEY (course_id) REFERENCES courses(course_id)",),
    "enrollments": (
        "FOREIGN KEY (course_id) REFERENCES courses(course_id)",
        "FOREIGN KEY (person_id) REFERENCES persons(person_id)",
    ),
    "attendance": (
        "FOREIGN KEY (part_id) REFERENCES parts(part_id)",
        "FOREIGN KEY (person_id) REFERENCES persons(person_id)",
    ),
    "results": (
        "FOREIGN KEY (part_id) REFERENCES parts(part_id)",
        "FOREIGN KEY (person_id) REFERENCES persons(person_id)",
    ),
    "deliveries": (
        "FOREIGN KEY (course_id) REFERENCES courses(course_id)",
        "FOREIGN KEY (person_id) REFERENCES persons(person_id)",
        "FOREIGN KEY (course_id, person_id) REFERENCES enrollments(course_id, person_id)",
    ),
}


def _local(moment: str) -> str:
    """SQL for a stored UTC moment as local text with its zone (`2026-11-06 10:00 CET`)."""
    return f"""coalesce(
            (SELECT strftime('%Y-%m-%d %H:%M', {moment}, z.offset_minutes || ' minutes')
                || ' ' || z.abbreviation
             FROM zone_offsets z WHERE z.since_utc <= {moment}
             ORDER BY z.since_utc DESC LIMIT 1),
            strftime('%Y-%m-%d %H:%M', {moment}) || ' UTC'
        )"""


def _met_of(table: str, alias: str, required: str, met: str) -> str:
    """SQL for `3 of 4`: an enrollment's required parts met in `table`, of those required."""
    return f"""(SELECT count(*) FROM parts r JOIN {table} {alias}
            ON {alias}.part_id = r.part_id AND {alias}.person_id = e.person_id
         WHERE r.course_id = e.course_id AND r.{required} AND {alias}.{met})
        || ' of ' ||
        (SELECT count(*) FROM parts r WHERE r.course_id = e.course_id AND r.{required})"""


# Local times in views: SQLite knows no IANA zones, so the offsets of the configured zone are
# kept in a table (Store.record_zone) and looked up for each moment. Until a zone is
# recorded the views show UTC. Any later migration that rebuilds a table must drop and
# recreate these views around it: SQLite refuses to rename a table while a view is broken.
# No ORDER BY in the views: with one, counting or filtering them computes every row first.
_BROWSING = f"""
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE zone_offsets (
        since_utc TEXT PRIMARY KEY,
        offset_minutes INTEGER NOT NULL,
        abbreviation TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE VIEW delivery_overview AS
    SELECT
        d.action AS action,
        d.course_id AS course_id,
        c.name AS course,
        d.person_id AS person_id,
        p.full_name AS name,
        coalesce(d.email, p.email) AS email,
        d.state AS state,
        d.attempts AS attempts,
        {_local("d.due_at")} AS "due (local)",
        {_local("d.sent_at")} AS "sent (local)",
        d.certificate_number AS certificate,
        d.last_error AS last_error
    FROM deliveries d
    LEFT JOIN courses c ON c.course_id = d.course_id
    LEFT JOIN persons p ON p.person_id = d.person_id;
    CREATE VIEW participant_overview AS
    SELECT
        e.course_id AS course_id,
        c.name AS course,
        e.person_id AS person_id,
        p.full_name AS name,
        {_met_of("attendance", "a", "attendance_required", "present")}
        AS present,
        {_met_of("results", "x", "pass_required", "passed")}
        AS passed,
        e.status AS enrollment
    FROM enrollments e
    LEFT JOIN courses c ON c.course_id = e.course_id
    LEFT JOIN persons p ON p.person_id = e.person_id
"""


def _browsable(conn: sqlite3.Connection) -> None:
    """Migration 3: foreign keys declared, the zone tables and the two overview views."""
    for table, keys in _FOREIGN_KEYS.items():
        _rebuild_with_keys(conn, table, keys)
    for statement in statements(_BROWSING):
        conn.execute(statement)


def _rebuild_with_keys(conn: sqlite3.Connection, table: str, keys: tuple[str, ...]) -> None:
    """Rebuild `table` with `keys` added to its own CREATE text, so that every column,
    default, WITHOUT ROWID and index stays exactly as it was (SQLite cannot add keys in place)."""
    (create,) = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    indexes = [
        row[0]
        for row in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY name",
            (table,),
        )
    ]
    head = re.match(rf'\s*CREATE TABLE\s+"?{table}"?\s*\(', create)
    assert head is not None, create
    close = create.rindex(")")  # the table's own: WITHOUT ROWID after it has no parenthesis
    shadow = f"{table}_rebuilt"
    body = create[head.end() : close].rstrip()
    constraints = "".join(f",\n        {key}" for key in keys)
    conn.execute(f"CREATE TABLE {shadow} ({body}{constraints}\n    {create[close:]}")
    conn.execute(f"INSERT INTO {shadow} SELECT * FROM {table}")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {shadow} RENAME TO {table}")
    for index in indexes:
        conn.execute(index)


# What every imported table keeps of each row besides its columns: the row's other columns
# (`extra`) and which import and file line created, last saw and duplicated it.
_IMPORTED = """extra TEXT,
        import_id INTEGER,
        created_import INTEGER,
        seen_import INTEGER,
        seen_file INTEGER,
        seen_line INTEGER,
        dup_file INTEGER,
        dup_line INTEGER"""

# Each entry is one migration; its number is its position (1-based). Never edit a landed one.
MIGRATIONS: list[Migration] = [
    # 1: the imported tables, each row with where it was last read, and the delivery log
    f"""
    CREATE TABLE course_types (
        course_type TEXT PRIMARY KEY,
        attendance_percentage INTEGER,
        {_IMPORTED}
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
        {_IMPORTED}
    );
    CREATE TABLE parts (
        part_id TEXT PRIMARY KEY,
        course_id TEXT NOT NULL,
        name TEXT NOT NULL,
        start TEXT,
        "end" TEXT,
        attendance_required INTEGER NOT NULL DEFAULT 0,
        pass_required INTEGER NOT NULL DEFAULT 0,
        {_IMPORTED}
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
        {_IMPORTED}
    );
    CREATE TABLE enrollments (
        course_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'enrolled',
        enrolled_at TEXT,
        first_seen_at TEXT NOT NULL,
        {_IMPORTED},
        PRIMARY KEY (course_id, person_id)
    ) WITHOUT ROWID;
    CREATE INDEX enrollments_person ON enrollments(person_id);
    CREATE TABLE attendance (
        part_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        present INTEGER NOT NULL,
        registered_at TEXT NOT NULL,
        registered_given INTEGER NOT NULL DEFAULT 0,
        {_IMPORTED},
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
        {_IMPORTED},
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
    # 3: foreign keys declared, local times, the overview views
    _browsable,
    # the record of each `certify forget`: who (the id alone), when, why, how many rows;
    # an import leaves out the rows of a person named here
    """
    CREATE TABLE erasures (
        id INTEGER PRIMARY KEY,
        person_id TEXT NOT NULL,
        at TEXT NOT NULL,
        reason TEXT NOT NULL,
        counts TEXT NOT NULL
    );
    CREATE INDEX erasures_person ON erasures(person_id);
    """,
    # the certificate register: each certificate a delivery carried, its PDF kept as issued
    """
    CREATE TABLE certificates (
        number TEXT PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,
        delivery_id INTEGER REFERENCES deliveries(id),
        action TEXT NOT NULL,
        course_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        full_name TEXT,
        course_name TEXT NOT NULL,
        course_start TEXT,
        course_end TEXT,
        language TEXT NOT NULL,
        issued_on TEXT NOT NULL,
        valid_until TEXT,
        replaces TEXT,
        source TEXT NOT NULL DEFAULT 'issued',
        sha256 TEXT,
        issued_at TEXT,
        revoked_at TEXT,
        revoked_reason TEXT,
        superseded_by TEXT,
        withdrawn_at TEXT,
        changed_at TEXT NOT NULL
    );
    CREATE INDEX certificates_delivery ON certificates(delivery_id);
    CREATE INDEX certificates_course ON certificates(course_id);
    CREATE INDEX certificates_person ON certificates(person_id);
    CREATE INDEX certificates_unissued ON certificates(delivery_id) WHERE issued_at IS NULL;
    -- the PDFs apart: reading the register never walks through their bytes
    CREATE TABLE certificate_files (
        number TEXT PRIMARY KEY REFERENCES certificates(number),
        pdf BLOB NOT NULL
    );
    CREATE TABLE certificate_events (
        id INTEGER PRIMARY KEY,
        number TEXT NOT NULL REFERENCES certificates(number),
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX certificate_events_number ON certificate_events(number);
    """,
]


def statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
