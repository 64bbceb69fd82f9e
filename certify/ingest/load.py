"""Writing an export's rows into the store: one `INSERT … ON CONFLICT` a hundred rows, and
indexes set aside while a table fills from empty."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from certify.ingest import integrity
from certify.ingest.cells import CellError
from certify.ingest.csvfiles import FileReader
from certify.ingest.discover import Source
from certify.ingest.tables import REFERENCES, TABLES, Coercer, KeyMissing, Row, TableSpec
from certify.locale import _

# rows per INSERT statement: SQLite starts a statement, opens its table and indexes once
# for them all, which saves a quarter of the time of a row
BATCH = 100


def _sql_literal(value: str | int) -> str:
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def upsert_sql(
    spec: TableSpec,
    present: set[str],
    import_id: int,
    now: str,
    *,
    file_index: int,
    extra: bool,
    rows: int = 1,
) -> str:
    """One INSERT … ON CONFLICT of `rows` rows of a file: new rows inserted, known rows
    updated in place, in the order given.

    Every row is marked seen by this import, with its file and line; a row already seen by
    this import is a duplicate key, noted in dup_file/dup_line for the report. Columns the
    file does not have keep their stored values. Each row's parameters are a converter's
    row (the key, the stored columns, the line) and, when the file has extra columns, their
    JSON; what is the same for the whole file is written into the statement, since every
    bound parameter costs time on each of its rows.
    """
    table = spec.name
    value_columns = [c for c in spec.columns if c != "extra"]
    names = [*spec.key, *value_columns]
    width = len(names) + 1 + int(extra)  # parameters per row
    iid, now_sql = _sql_literal(import_id), _sql_literal(now)

    def values(first: int) -> dict[str, str]:
        """The column values of the row whose parameters start at ?`first`."""
        param = {name: f"?{index}" for index, name in enumerate(names, start=first)}
        insert: dict[str, str] = {name: param[name] for name in names}
        insert["extra"] = f"?{first + len(names) + 1}" if extra else "NULL"
        if "registered_at" in value_columns:
            insert["registered_at"] = f"coalesce({param['registered_at']}, {now_sql})"
            insert["registered_given"] = f"{param['registered_at']} IS NOT NULL"
        if table == "enrollments":
            insert["first_seen_at"] = now_sql
        insert.update(
            import_id=iid,
            created_import=iid,
            seen_import=iid,
            seen_file=_sql_literal(file_index),
            seen_line=f"?{first + len(names)}",
        )
        return insert

    insert = values(1)
    rows_sql = ", ".join(f"({', '.join(values(1 + row * width).values())})" for row in range(rows))
    assignments: list[str] = []
    differs: list[str] = []
    for column in value_columns:
        if column not in present:
            continue
        if column == "registered_at":
            # a time from the export wins; else the value keeps its first registration,
            # and a changed value is registered now
            assignments.append(
                f"registered_at = CASE WHEN excluded.registered_given THEN excluded.registered_at "
                f"WHEN {table}.{spec.tracked} IS excluded.{spec.tracked} THEN {table}.registered_at "
                f"ELSE {now_sql} END"
            )
            assignments.append("registered_given = excluded.registered_given")
            differs.append(
                f"(excluded.registered_given AND {table}.registered_at IS NOT excluded.registered_at)"
            )
        else:
            assignments.append(f'"{column}" = excluded."{column}"')
            differs.append(f'{table}."{column}" IS NOT excluded."{column}"')
    assignments.append("extra = excluded.extra")
    differs.append(f"{table}.extra IS NOT excluded.extra")
    changed = " OR ".join(differs)
    seen_here = f"{table}.seen_import = {iid}"
    assignments = [
        f"dup_file = CASE WHEN {seen_here} THEN {table}.seen_file ELSE {table}.dup_file END",
        f"dup_line = CASE WHEN {seen_here} THEN {table}.seen_line ELSE {table}.dup_line END",
        f"import_id = CASE WHEN {changed} THEN {iid} ELSE {table}.import_id END",
        *assignments,
        "seen_import = excluded.seen_import",
        "seen_file = excluded.seen_file",
        "seen_line = excluded.seen_line",
    ]
    columns = ", ".join(f'"{c}"' for c in insert)
    return (
        f"INSERT INTO {table} ({columns}) VALUES {rows_sql} "
        f"ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {', '.join(assignments)}"
    )


@dataclass(frozen=True)
class Loaded:
    """What loading one file did: the rows stored (ignored rows not counted), whether it was
    read and found without data rows, whether a problem kept it from being read, and the
    file as messages name it (`FILE!SHEET` for a workbook)."""

    rows: int
    empty: bool
    unread: bool
    label: str


@dataclass(frozen=True)
class Target:
    """Where one import writes: its connection, its id and moment, its problems."""

    conn: sqlite3.Connection
    import_id: int
    now: str
    coercer: Coercer
    errors: integrity.Errors
    warnings: list[str]


def write_rows(conn: sqlite3.Connection, sql: Callable[..., str], rows: Iterator[Row]) -> int:
    """Stream rows into their table, BATCH rows a statement; the count of rows stored."""
    last: list[Row] = []  # the rows after the last whole batch

    def batches() -> Iterator[tuple[Any, ...]]:
        while batch := tuple(islice(rows, BATCH)):
            if len(batch) < BATCH:
                last.extend(batch)
                return
            yield tuple(chain.from_iterable(batch))

    # each row is one change, inserted or updated: the count of the rows stored
    count = conn.executemany(sql(rows=BATCH), batches()).rowcount
    if last:
        count += conn.executemany(sql(), last).rowcount
    return count


def load_file(target: Target, source: Source, *, file_index: int) -> Loaded:
    """Stream one file into its table; a row a problem keeps out is noted for the checks."""
    conn, errors = target.conn, target.errors
    spec = TABLES[source.table]
    reader = FileReader(source.path, spec, errors.add, target.warnings, source.options)
    if not reader.open():
        return Loaded(0, empty=reader.empty, unread=reader.unread, label=reader.label)
    sql = functools.partial(
        upsert_sql,
        spec,
        spec.columns_given(reader.header),
        target.import_id,
        target.now,
        file_index=file_index,
        extra=reader.has_extra,
    )
    file = reader.label
    key_at = reader.positions[0] if len(spec.key) == 1 else None  # only such keys are referred to
    refers_at = [
        (column, reader.positions[spec.known.index(column)])
        for table, column, _, _ in REFERENCES
        if table == spec.name
    ]

    def reject(line: int, exc: CellError, values: list[str]) -> None:
        said = _("column {column}: {problem}").format(
            column=reader.describe(exc.column), problem=exc
        )
        errors.add(f"{file}:{line}: {said}")
        # the row's other cells still read: its key and what it refers to are checked too
        key = None if key_at is None or isinstance(exc, KeyMissing) else values[key_at].strip()
        refers_to = [
            (column, value)
            for column, at in refers_at
            if column != exc.column and (value := values[at].strip())
        ]
        integrity.note_unstored(conn, spec.name, key, refers_to, file_index=file_index, line=line)

    def overfull(values: list[str]) -> None:
        # which value is in which column is in doubt (an unquoted comma may stand before the
        # key or after it): every value that may be the key is noted, so that rows referring
        # to this row raise no echo
        if key_at is not None:
            extra = len(values) - len(reader.header)
            for key in {values[key_at + shift].strip() for shift in range(extra + 1)}:
                integrity.note_unstored(conn, spec.name, key, [], file_index=file_index, line=0)

    convert = target.coercer.converter(spec.name, reader.positions, file)
    count = write_rows(conn, sql, reader.rows(convert, reject, overfull))
    return Loaded(count, empty=reader.empty, unread=False, label=file)


def is_empty(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None


def set_indexes_aside(conn: sqlite3.Connection, table: str) -> list[str]:
    """Drop the table's indexes but its key, returning the statements that make them again.

    For a table filled from empty, building an index afterwards sorts its entries once;
    kept up to date row by row, each entry lands in a random place of it, at three times
    the cost.
    """
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    for name, _sql in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in indexes]


def build(conn: sqlite3.Connection, indexes: list[str]) -> None:
    """Build the indexes set aside (see set_indexes_aside), once."""
    while indexes:
        conn.execute(indexes.pop(0))
