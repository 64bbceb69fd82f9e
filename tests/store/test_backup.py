"""Backing the database up while runs may be writing to it."""

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from certify.errors import CertifyError
from certify.store.backup import backup
from certify.store.database import MIGRATIONS, Store
from tests.helpers import import_into, rows

# Another process takes the write lock, writes a person and waits, uncommitted, for a line.
WRITER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO persons (person_id, email) VALUES ('P9', 'p9@example.org')")
    print("writing", flush=True)
    sys.stdin.readline()
    conn.execute("COMMIT")
    """
)


def test_a_backup_is_a_whole_database(tmp_path: Path, export: Callable[..., Path]) -> None:
    db = tmp_path / "certify.db"
    import_into(db, export())
    with Store.open(db) as store:
        backup(store, tmp_path / "b.db")
    assert rows(tmp_path / "b.db", "PRAGMA integrity_check") == [("ok",)]
    assert rows(tmp_path / "b.db", "SELECT person_id FROM persons") == [("P1",), ("P2",)]
    with Store.open_readonly(tmp_path / "b.db") as copy:
        assert copy.schema_version() == len(MIGRATIONS)
    assert [path.name for path in tmp_path.iterdir() if "b.db" in path.name] == ["b.db"]


@pytest.mark.parametrize("opening", [Store.open, Store.open_readonly], ids=["open", "read-only"])
def test_a_backup_while_another_process_writes_neither_waits_nor_copies_half_a_write(
    tmp_path: Path, export: Callable[..., Path], opening: Callable[[Path], Store]
) -> None:
    db = tmp_path / "certify.db"
    import_into(db, export())
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdin is not None
        assert writer.stdout.readline() == "writing\n"
        started = time.monotonic()
        with opening(db) as store:
            backup(store, tmp_path / "b.db")
        took = time.monotonic() - started
        writer.stdin.write("commit\n")
        writer.stdin.flush()
        assert writer.wait(timeout=30) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
    assert took < 5  # a lock wait would take the busy timeout, 10 s
    assert rows(tmp_path / "b.db", "SELECT count(*) FROM persons") == [(2,)]
    assert rows(db, "SELECT count(*) FROM persons") == [(3,)]


def test_a_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    db = tmp_path / "certify.db"
    (tmp_path / "b.db").write_text("yesterday's backup")
    with Store.open(db) as store:
        with pytest.raises(CertifyError, match=r"b\.db: already exists") as raised:
            backup(store, tmp_path / "b.db")
        assert raised.value.hint and "never overwrites" in raised.value.hint
        with pytest.raises(CertifyError, match=r"missing/b\.db: the folder .*missing does not"):
            backup(store, tmp_path / "missing" / "b.db")
    assert (tmp_path / "b.db").read_text() == "yesterday's backup"
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".partial")]


def appears_meanwhile(target: Path, link_error: OSError | None) -> Callable[[Path, Path], None]:
    """os.link as it behaves when another program creates `target` just before it."""
    real_link = os.link

    def link(source: Path, destination: Path) -> None:
        target.write_text("written by someone else")
        if link_error is not None:
            raise link_error
        real_link(source, destination)

    return link


@pytest.mark.parametrize(
    "link_error", [None, PermissionError(1, "hard links not supported")], ids=["link", "no-links"]
)
def test_a_file_that_appears_during_the_backup_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link_error: OSError | None
) -> None:
    target = tmp_path / "b.db"
    monkeypatch.setattr(os, "link", appears_meanwhile(target, link_error))
    with Store.open(tmp_path / "certify.db") as store, pytest.raises(CertifyError, match="exists"):
        backup(store, target)
    assert target.read_text() == "written by someone else"
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".partial")]


def test_without_hard_links_the_copy_is_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: Path, destination: Path) -> None:
        raise PermissionError(1, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    with Store.open(tmp_path / "certify.db") as store:
        backup(store, tmp_path / "b.db")
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("SELECT count(*) FROM _migrations").fetchone() == (len(MIGRATIONS),)
    conn.close()


def test_the_backup_command(tmp_path: Path, export: Callable[..., Path]) -> None:
    from tests.helpers import cli

    import_into(tmp_path / "certify.db", export())
    first = cli("backup", "copy.db", cwd=tmp_path)
    assert first.returncode == 0 and "backed up" in first.stdout
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("SELECT count(*) FROM enrollments").fetchone() == (2,)
    again = cli("backup", "copy.db", cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr
