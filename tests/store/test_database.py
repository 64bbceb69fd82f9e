"""The store: migrations recorded once, read-only opening, and a schema tools can browse."""

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils

from certify.clock import from_utc_text, to_utc_text
from certify.errors import CertifyError
from certify.store.database import MIGRATIONS, Store, zone_offset_changes
from tests.helpers import AMS, import_into, rows


def test_migrations_are_recorded_and_applied_once(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Store.open(db) as store:
        assert store.schema_version() == len(MIGRATIONS)
    with Store.open(db) as store:  # opening again changes nothing
        rows = store.conn.execute("SELECT version FROM _migrations ORDER BY version").fetchall()
    assert [row[0] for row in rows] == list(range(1, len(MIGRATIONS) + 1))


def test_read_only_opening_never_creates_or_writes(tmp_path: Path) -> None:
    with pytest.raises(CertifyError, match="no such database"):
        Store.open_readonly(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    with Store.open(tmp_path / "c.db"):
        pass
    with Store.open_readonly(tmp_path / "c.db") as store, pytest.raises(sqlite3.OperationalError):
        store.conn.execute("INSERT INTO imports VALUES (1, 'x', 'x', 0, '[]', '{}')")


def test_the_store_closes_on_errors(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Store.open(tmp_path / "c.db") as store:
        raise RuntimeError("boom")
    with pytest.raises(sqlite3.ProgrammingError):
        store.conn.execute("SELECT 1")


def test_tables_keys_and_indexes_as_tools_see_them(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    browse = sqlite_utils.Database(db)
    assert browse["enrollments"].pks == ["course_id", "person_id"]
    assert browse["deliveries"].pks == ["id"]
    indexed = {tuple(index.columns) for index in browse["attendance"].indexes}
    assert ("person_id",) in indexed
    assert browse["enrollments"].count == 2


DATA_TABLES = (
    "course_types",
    "courses",
    "parts",
    "persons",
    "enrollments",
    "attendance",
    "results",
)
KEYS = {
    ("courses", ("course_type",), "course_types", ("course_type",)),
    ("parts", ("course_id",), "courses", ("course_id",)),
    ("enrollments", ("course_id",), "courses", ("course_id",)),
    ("enrollments", ("person_id",), "persons", ("person_id",)),
    ("attendance", ("part_id",), "parts", ("part_id",)),
    ("attendance", ("person_id",), "persons", ("person_id",)),
    ("results", ("part_id",), "parts", ("part_id",)),
    ("results", ("person_id",), "persons", ("person_id",)),
    ("deliveries", ("course_id",), "courses", ("course_id",)),
    ("deliveries", ("person_id",), "persons", ("person_id",)),
    ("deliveries", ("course_id", "person_id"), "enrollments", ("course_id", "person_id")),
    ("delivery_events", ("delivery_id",), "deliveries", ("id",)),
    ("certificates", ("delivery_id",), "deliveries", ("id",)),
    ("certificate_events", ("number",), "certificates", ("number",)),
    ("certificate_files", ("number",), "certificates", ("number",)),
}


def add_delivery(
    db: Path,
    *,
    person: str = "P1",
    action: str = "certificate",
    state: str = "sent",
    due_at: str | None = "2026-11-14T08:00:00Z",
    sent_at: str | None = None,
    certificate: str | None = None,
    last_error: str | None = None,
) -> None:
    """A delivery row as the delivery log would write it (the log itself lives elsewhere)."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO deliveries (action, course_id, person_id, state, due_at, sent_at, "
            "certificate_number, attempts, last_error, created_at, updated_at) "
            "VALUES (?, 'C1', ?, ?, ?, ?, ?, 1, ?, '2026-11-14T08:00:00Z', '2026-11-14T08:00:00Z')",
            (action, person, state, due_at, sent_at, certificate, last_error),
        )
    conn.close()


def test_foreign_keys_are_declared_and_an_import_keeps_them(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    add_delivery(db)
    browse = sqlite_utils.Database(db)
    declared = {
        (table, tuple(key.columns), key.other_table, tuple(key.other_columns))
        for table in browse.table_names()
        for key in browse[table].foreign_keys
    }
    assert declared == KEYS
    assert rows(db, "PRAGMA foreign_key_check") == []
    assert all(browse[table].count for table in DATA_TABLES)


def test_certify_does_not_enforce_the_keys_it_declares(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    add_delivery(db, person="P2")
    # a person may leave the export while their delivery history stays in the log
    with Store.open(db) as store:
        assert store.conn.execute("PRAGMA foreign_keys").fetchone() == (0,)
        store.conn.execute("DELETE FROM persons WHERE person_id = 'P2'")
    assert rows(db, "SELECT person_id, name FROM delivery_overview") == [("P2", None)]


def database_of_migration_1(db: Path) -> None:
    """A database as the first release left it, with two rows in every table."""
    first = MIGRATIONS[0]
    assert isinstance(first, str)
    with sqlite3.connect(db) as conn:
        conn.executescript(first)
        conn.execute("CREATE TABLE _migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
        conn.execute("INSERT INTO _migrations VALUES (1, '2026-01-01T00:00:00Z')")
        for table in OLD_TABLES:
            columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
            marks = ", ".join("?" for _ in columns)
            for n in (1, 2):
                values = [n if column[2] == "INTEGER" else f"{column[1]}{n}" for column in columns]
                conn.execute(f"INSERT INTO {table} VALUES ({marks})", values)
    conn.close()


def shape_of(db: Path, table: str) -> tuple[object, ...]:
    """What a migration must keep of a table: its rows, columns (types, defaults, keys),
    indexes and whether it is WITHOUT ROWID."""
    with sqlite3.connect(db) as conn:
        indexes = sorted(
            (name, unique, [column[2] for column in conn.execute(f"PRAGMA index_info({name})")])
            for _, name, unique, *_ in conn.execute(f"PRAGMA index_list({table})")
        )
        (create,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        shape = (
            conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall(),
            conn.execute(f"PRAGMA table_info({table})").fetchall(),
            indexes,
            create.rstrip().endswith("WITHOUT ROWID"),
        )
    conn.close()
    return shape


OLD_TABLES = (
    *DATA_TABLES,
    "imports",
    "action_since",
    "course_skips",
    "deliveries",
    "delivery_events",
)


def test_a_database_of_the_first_release_migrates_keeping_every_row_and_index(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    database_of_migration_1(db)
    before = {table: shape_of(db, table) for table in OLD_TABLES}
    assert [table for table, shape in before.items() if shape[3]] == [
        "enrollments",
        "attendance",
        "results",
    ]
    with Store.open(db) as store:
        assert store.schema_version() == len(MIGRATIONS)
    after = {table: shape_of(db, table) for table in OLD_TABLES}
    for table in OLD_TABLES:
        assert after[table] == before[table], table
    assert all(len(shape[0]) == 2 for shape in after.values())  # type: ignore[arg-type]
    browse = sqlite_utils.Database(db)
    assert {key.other_table for key in browse["attendance"].foreign_keys} == {"persons", "parts"}
    # the rebuilt deliveries keep counting their ids on
    add_delivery(db, person="P9")
    assert rows(db, "SELECT max(id) FROM deliveries") == [(3,)]


def test_a_failing_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "old.db"
    database_of_migration_1(db)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("DROP TABLE persons")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr("certify.store.database.MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        Store.open(db)
    assert rows(db, "SELECT max(version) FROM _migrations") == [(1,)]
    assert rows(db, "SELECT count(*) FROM persons") == [(2,)]
    assert "FOREIGN KEY" not in rows(db, "SELECT sql FROM sqlite_master WHERE name = 'parts'")[0][0]


def test_delivery_overview_names_the_course_person_and_local_times(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    add_delivery(db, sent_at="2026-11-14T08:05:00Z", certificate="2026-0001")
    add_delivery(db, person="P2", state="failed", due_at=None, last_error="550 mailbox unknown")
    with Store.open(db) as store:
        assert not store.record_zone(AMS)  # the import recorded the zone it read times in
    overview = list(sqlite_utils.Database(db)["delivery_overview"].rows_where(order_by="person_id"))
    assert overview == [
        {
            "action": "certificate",
            "course_id": "C1",
            "course": "Display training",
            "person_id": "P1",
            "name": "Bram van der Berg",
            "email": "bram@example.org",
            "state": "sent",
            "attempts": 1,
            "due (local)": "2026-11-14 09:00 CET",
            "sent (local)": "2026-11-14 09:05 CET",
            "certificate": "2026-0001",
            "last_error": None,
        },
        {
            "action": "certificate",
            "course_id": "C1",
            "course": "Display training",
            "person_id": "P2",
            "name": "Zoë Öztürk",
            "email": "zoe@example.org",
            "state": "failed",
            "attempts": 1,
            "due (local)": None,
            "sent (local)": None,
            "certificate": None,
            "last_error": "550 mailbox unknown",
        },
    ]


def test_participant_overview_counts_the_required_parts(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    # P2 leaves the course: a --snapshot of enrollments cancels, it does not remove
    left = "course_id,person_id\nC1,P1\n"
    import_into(db, export("later", enrollments=left) / "enrollments.csv", snapshot=True)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE parts SET attendance_required = 0 WHERE part_id = 'C1-4'")
    conn.close()
    view = sqlite_utils.Database(db)["participant_overview"]
    overview = [tuple(row.values()) for row in view.rows_where(order_by="person_id")]
    assert overview == [
        ("C1", "Display training", "P1", "Bram van der Berg", "3 of 3", "1 of 1", "enrolled"),
        ("C1", "Display training", "P2", "Zoë Öztürk", "1 of 3", "1 of 1", "cancelled"),
    ]


CLOCK_CHANGES = (
    "2026-03-08T06:59:00Z",  # New York's spring change
    "2026-03-08T07:00:00Z",
    "2026-03-29T00:59:00Z",  # Amsterdam's spring change
    "2026-03-29T01:00:00Z",
    "2026-10-25T00:59:00Z",  # Amsterdam's autumn change
    "2026-10-25T01:00:00Z",
)


def due_times(db: Path) -> list[str]:
    # in the log's order: the overview lists deliveries as they were written
    return [row[0] for row in rows(db, 'SELECT "due (local)" FROM delivery_overview')]


def test_local_times_follow_the_clock_changes_and_the_recorded_zone(
    tmp_path: Path, export: Callable[..., Path]
) -> None:
    db = tmp_path / "c.db"
    import_into(db, export())
    for number, due in enumerate(CLOCK_CHANGES):
        add_delivery(db, person=f"P{number}", due_at=due)
    with sqlite3.connect(db) as conn:  # as a database before any command recorded a zone
        conn.execute("DELETE FROM settings")
        conn.execute("DELETE FROM zone_offsets")
    assert due_times(db) == [  # no zone recorded yet: UTC, and it says so
        "2026-03-08 06:59 UTC",
        "2026-03-08 07:00 UTC",
        "2026-03-29 00:59 UTC",
        "2026-03-29 01:00 UTC",
        "2026-10-25 00:59 UTC",
        "2026-10-25 01:00 UTC",
    ]
    with Store.open(db) as store:
        assert store.record_zone(AMS)
        changes = store.conn.total_changes
        assert not store.record_zone(ZoneInfo("Europe/Amsterdam"))  # the same zone: no writes
        assert store.conn.total_changes == changes
    assert due_times(db) == [
        "2026-03-08 07:59 CET",
        "2026-03-08 08:00 CET",
        "2026-03-29 01:59 CET",
        "2026-03-29 03:00 CEST",
        "2026-10-25 02:59 CEST",
        "2026-10-25 02:00 CET",
    ]
    with Store.open(db) as store:
        assert store.record_zone(ZoneInfo("America/New_York"))
    assert due_times(db) == [
        "2026-03-08 01:59 EST",
        "2026-03-08 03:00 EDT",
        "2026-03-28 20:59 EDT",
        "2026-03-28 21:00 EDT",
        "2026-10-24 20:59 EDT",
        "2026-10-24 21:00 EDT",
    ]
    assert rows(db, "SELECT value FROM settings WHERE key = 'timezone'") == [("America/New_York",)]


@pytest.mark.parametrize("name", ["Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"])
def test_local_times_agree_with_zoneinfo_around_every_change(tmp_path: Path, name: str) -> None:
    tz = ZoneInfo(name)
    db = tmp_path / "c.db"
    with Store.open(db) as store:
        store.record_zone(tz)
        changes = [since for (since,) in store.conn.execute("SELECT since_utc FROM zone_offsets")]
        moments = ["1971-06-01T12:00:00Z", "2099-12-31T23:59:00Z"]
        for since in changes[1:]:
            change = from_utc_text(since)
            moments += [to_utc_text(change - timedelta(minutes=1)), since]
        store.conn.executemany(
            "INSERT INTO deliveries (action, course_id, person_id, state, due_at, created_at, "
            "updated_at) VALUES ('certificate', 'C1', ?, 'pending', ?, '', '')",
            enumerate(moments),
        )
    expected = [from_utc_text(m).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") for m in moments]
    assert len(changes) > 200  # two a year over the span, or more
    assert due_times(db) == expected


def test_sqlite_utils_lists_the_overview_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "certify.db"
    with Store.open(db) as store:
        store.record_zone(AMS)
    add_delivery(db, sent_at="2026-11-14T08:00:07Z", certificate="2026-0001")
    ran = subprocess.run(
        [sys.executable, "-m", "sqlite_utils", "rows", str(db), "delivery_overview"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    [row] = json.loads(ran.stdout)
    assert row["due (local)"] == "2026-11-14 09:00 CET"
    assert row["sent (local)"] == "2026-11-14 09:00 CET"
    assert (row["state"], row["certificate"], row["name"]) == ("sent", "2026-0001", None)


def test_a_zone_change_undone_within_a_week_is_recorded() -> None:
    # Gaza's summer time pauses for a week around Ramadan in 2040
    changes = zone_offset_changes(ZoneInfo("Asia/Gaza"))
    in_2040 = [change for change in changes if change[0].startswith("2040-10")]
    assert [offset for _, offset, _ in in_2040] == [180, 120]


def test_none_binds_as_null_in_every_statement_form(tmp_path: Path) -> None:
    """None is adapted by the store's registered adapter (see database.py): it must still
    be stored as NULL, in single, many and named statements alike."""
    with Store.open(tmp_path / "c.db") as store:
        conn = store.conn
        conn.execute("CREATE TEMP TABLE t (a, b)")
        conn.execute("INSERT INTO t VALUES (?, ?)", (None, 1))
        conn.executemany("INSERT INTO t VALUES (?1, ?2)", [(None, 2), ("", 3)])
        conn.execute("INSERT INTO t VALUES (:a, :b)", {"a": None, "b": 4})
        found = conn.execute("SELECT typeof(a), b FROM t ORDER BY b").fetchall()
    assert found == [("null", 1), ("null", 2), ("text", 3), ("null", 4)]
