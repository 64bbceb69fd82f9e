"""The store: migrations recorded once, read-only opening, and a schema tools can browse."""

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils

from certify.errors import CertifyError
from certify.store import MIGRATIONS, Store
from tests.conftest import import_into


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
