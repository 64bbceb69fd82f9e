"""What an import checks in SQL before it commits: keys given twice, references to nothing,
and what a `--snapshot` would remove; and the counts it reports per table."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from certify.errors import ImportFailed
from certify.ingest.tables import NOUNS, REFERENCES, TABLES
from certify.locale import _

MAX_ERRORS = 100


@dataclass
class TableCounts:
    """What an import did to one table: rows read, and how many were new, changed or gone."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # by a --snapshot: deleted, or for enrollments cancelled

    def summary(self, table: str) -> str:
        """`2 inserted, 1 updated, 40 unchanged, 3 removed`; enrollments say `cancelled`,
        since a --snapshot cancels the enrollments missing from a file and keeps them."""
        words = (
            _("{inserted} inserted, {updated} updated, {unchanged} unchanged, {removed} cancelled")
            if removal(table) == "cancelled"
            else _(
                "{inserted} inserted, {updated} updated, {unchanged} unchanged, {removed} removed"
            )
        )
        return words.format(
            inserted=self.inserted,
            updated=self.updated,
            unchanged=self.unchanged,
            removed=self.removed,
        )


def removal(table: str) -> str:
    """What a --snapshot does to the rows of `table` a file lacks: `removed`, or `cancelled`."""
    return "cancelled" if table == "enrollments" else "removed"


@dataclass
class Errors:
    """Every problem of one import: all counted, the first MAX_ERRORS kept to show."""

    messages: list[str] = field(default_factory=list)
    total: int = 0

    def add(self, message: str) -> None:
        self.total += 1
        if len(self.messages) < MAX_ERRORS:
            self.messages.append(message)

    def failure(self, hint: str) -> ImportFailed:
        """The error that rolls the import back, listing the problems."""
        return ImportFailed("import", self.messages, total=self.total, hint=hint)


@dataclass(frozen=True)
class Tally:
    """What this import did to one table's rows, before any --snapshot removal."""

    changed: int  # inserted or updated
    inserted: int
    duplicates: int  # rows that repeated a key this import had given already


def tally(
    conn: sqlite3.Connection, name: str, import_id: int, *, stored: int, was_empty: bool
) -> Tally:
    """The table's tally, from the `stored` rows (each an insert or an update) of this import."""
    if was_empty:
        # every row is this import's: what the rows stored exceed it by repeated a key
        (held,) = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        return Tally(changed=held, inserted=held, duplicates=stored - held)
    changed, inserted, duplicates = conn.execute(
        f"SELECT coalesce(sum(import_id = ?1), 0), coalesce(sum(created_import = ?1), 0), "
        f"count(dup_line) FROM {name} WHERE seen_import = ?1",
        (import_id,),
    ).fetchone()
    return Tally(changed, inserted, duplicates)


def check_duplicates(
    conn: sqlite3.Connection, errors: Errors, import_id: int, files: list[str], name: str
) -> None:
    """A key this import saw twice: both of its lines named."""
    spec = TABLES[name]
    for row in conn.execute(
        f"SELECT {', '.join(spec.key)}, dup_file, dup_line, seen_file, seen_line FROM {name} "
        f"WHERE seen_import = ? AND dup_line IS NOT NULL LIMIT {MAX_ERRORS}",
        (import_id,),
    ):
        key = row[: len(spec.key)]
        dup_file, dup_line, seen_file, seen_line = row[len(spec.key) :]
        value = " + ".join(str(part) for part in key)
        said = _(
            "duplicate key {key} = {value} (lines {first} and {second}); keep one row per key"
        ).format(
            key="+".join(spec.key),
            value=repr(value),
            first=f"{files[dup_file]}:{dup_line}",
            second=f"{files[seen_file]}:{seen_line}",
        )
        errors.add(f"{files[dup_file]}:{dup_line}: {said}")


def start(conn: sqlite3.Connection) -> None:
    """Fresh notes for one import of the rows it could not store: the keys it could not
    read (rows referring to them raise no echo of the same mistake), and what those rows
    refer to (checked with the rest)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS bad_keys (tbl TEXT, key TEXT)")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS unstored_refs "
        "(tbl TEXT, col TEXT, value TEXT, file INTEGER, line INTEGER)"
    )
    conn.execute("DELETE FROM temp.bad_keys")
    conn.execute("DELETE FROM temp.unstored_refs")


def note_unstored(
    conn: sqlite3.Connection,
    table: str,
    key: str | None,
    refers_to: list[tuple[str, str]],
    *,
    file_index: int,
    line: int,
) -> None:
    """A row of `table` that a problem kept out: its key (when it has one value) and the
    (column, value) pairs it refers to, so that both are still checked."""
    if key:
        conn.execute("INSERT INTO temp.bad_keys VALUES (?, ?)", (table, key))
    for column, value in refers_to:
        conn.execute(
            "INSERT INTO temp.unstored_refs VALUES (?, ?, ?, ?, ?)",
            (table, column, value, file_index, line),
        )


def check_references(
    conn: sqlite3.Connection,
    errors: Errors,
    warnings: list[str],
    import_id: int,
    files: list[str],
    given: set[str],
    *,
    snapshot: bool,
    unread: frozenset[str] = frozenset(),
) -> None:
    """Every row this import brought must point at something; after a --snapshot, every row.

    The values a table refers to are looked up once each, not once per row: the distinct
    values come in order from the index on the column. Only values found missing send
    back to the rows, for their lines. Rows a problem kept out of their table are checked
    too, from what `note_unstored` kept of them. References to a table with a file that
    could not be read (`unread`) are not judged: what it holds is not known.
    """
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS missing_values (value TEXT PRIMARY KEY)")
    (unstored,) = conn.execute("SELECT count(*) FROM temp.unstored_refs").fetchone()
    for table, column, target, target_key in REFERENCES:
        removed = snapshot and target in given
        if (table not in given and not removed) or target in unread:
            continue
        not_there = (
            f"NOT EXISTS (SELECT 1 FROM {target} t WHERE t.{target_key} = value) AND NOT EXISTS "
            f"(SELECT 1 FROM temp.bad_keys b WHERE b.tbl = '{target}' AND b.key = value)"
        )
        conn.execute("DELETE FROM temp.missing_values")
        found = conn.execute(
            f"INSERT INTO temp.missing_values SELECT value FROM (SELECT DISTINCT {column} AS value "
            f"FROM {table}) WHERE {not_there}"
        ).rowcount
        rows: list[tuple[int, int, int, str]] = []
        if found:
            scope = "" if removed else f"x.seen_import = {import_id} AND "
            rows = conn.execute(
                f"SELECT x.seen_import, x.seen_file, x.seen_line, x.{column} FROM {table} x "
                f"WHERE {scope}x.{column} IN temp.missing_values "
                f"ORDER BY x.seen_file, x.seen_line LIMIT {MAX_ERRORS}"
            ).fetchall()
        if unstored and not snapshot:
            rows += conn.execute(
                f"SELECT {import_id}, file, line, value FROM (SELECT file, line, value "
                f"FROM temp.unstored_refs WHERE tbl = ? AND col = ?) WHERE {not_there} "
                f"ORDER BY file, line LIMIT {MAX_ERRORS}",
                (table, column),
            ).fetchall()
            rows = sorted(rows, key=lambda row: (row[1], row[2]))[:MAX_ERRORS]
        noun = _(NOUNS[target])
        for seen_import, file_index, line, value in rows:
            if seen_import == import_id:
                said = _(
                    "column '{column}': {noun} {value} exists neither in the database nor in "
                    "this import (import {file} too?)"
                ).format(column=column, noun=noun, value=repr(value), file=TABLES[target].file)
                errors.add(f"{files[file_index]}:{line}: {said}")
            else:
                said = _(
                    "--snapshot would remove {noun} {value}, but {table} still refer to it; "
                    "include it, or give {file} in the same --snapshot import"
                ).format(noun=noun, value=repr(value), table=table, file=TABLES[table].file)
                errors.add(f"{files[file_of(files, target)]}: {said}")
    if "courses" in given:
        for file_index, line, value in conn.execute(
            "SELECT c.seen_file, c.seen_line, c.course_type FROM courses c "
            "WHERE c.seen_import = ? AND c.course_type IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM course_types t WHERE t.course_type = c.course_type) "
            "ORDER BY c.seen_file, c.seen_line LIMIT 20",
            (import_id,),
        ):
            said = _(
                "column 'course_type': unknown course type {value}; the course counts with "
                "100 % attendance until the type is imported"
            ).format(value=repr(value))
            warnings.append(f"{files[file_index]}:{line}: {said}")


def file_of(files: list[str], table: str) -> int:
    """The index of the file that gave `table` (the first file when none did)."""
    for index, file in enumerate(files):
        if Path(file).name.lower() == TABLES[table].file:
            return index
    return 0


def count_and_remove(
    conn: sqlite3.Connection, name: str, rows: int, tally: Tally, import_id: int, snapshot: bool
) -> TableCounts:
    """The table's counts; with --snapshot, rows this import did not see go (enrollments cancel)."""
    counts = TableCounts(
        rows=rows,
        inserted=tally.inserted,
        updated=tally.changed - tally.inserted,
        unchanged=rows - tally.changed,
    )
    if snapshot:
        if name == "enrollments":
            # a participant missing from the export has left the course: cancel, keep history
            counts.removed = conn.execute(
                "UPDATE enrollments SET status = 'cancelled', import_id = ? "
                "WHERE status != 'cancelled' AND seen_import IS NOT ?",
                (import_id, import_id),
            ).rowcount
        else:
            counts.removed = conn.execute(
                f"DELETE FROM {name} WHERE seen_import IS NOT ?", (import_id,)
            ).rowcount
    return counts


@dataclass(frozen=True)
class Before:
    """A table as a --snapshot import found it: its rows, and those a snapshot can remove."""

    rows: int
    removable: int  # enrollments: the ones not yet cancelled


def count_before(conn: sqlite3.Connection, name: str) -> Before:
    if name == "enrollments":
        rows, removable = conn.execute(
            "SELECT count(*), coalesce(sum(status != 'cancelled'), 0) FROM enrollments"
        ).fetchone()
        return Before(rows, removable)
    (rows,) = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
    return Before(rows, rows)


def percent(part: int, whole: int) -> int:
    """part of whole in whole percents, rounded up: the --max-remove that allows it."""
    return -(-100 * part // whole)


def would_remove(name: str, removed: int, before: int) -> str:
    """`would cancel 31 of 32 enrollments (97 %)`"""
    said = (
        _("would cancel {removed} of {before} {rows} ({percent} %)")
        if name == "enrollments"
        else _("would remove {removed} of {before} {rows} ({percent} %)")
    )
    return said.format(
        removed=removed,
        before=before,
        rows=TABLES[name].rows_noun,
        percent=percent(removed, before),
    )
