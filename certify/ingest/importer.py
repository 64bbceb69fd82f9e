"""CSV exports → store, in one transaction: rows upserted, then keys and references checked.

Each file's rows stream straight into their table through one `INSERT … ON CONFLICT`, a
hundred rows a statement, so memory does not grow with a file's size; a table filled from
empty gets its indexes built after its rows. Every row records the import, file and line
that last saw it; afterwards SQL, not Python sets, finds duplicate keys (a row this import
saw twice) and references to nothing, each referred value looked up once. Any problem
rolls the whole transaction back.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from itertools import chain, islice
from pathlib import Path
from typing import Any

from certify.clock import to_utc_text
from certify.errors import UsageError
from certify.ingest import integrity
from certify.ingest.csvfiles import FileReader, collect_files
from certify.ingest.integrity import TableCounts
from certify.ingest.tables import (
    ORDER,
    REFERENCES,
    TABLES,
    CellError,
    Coercer,
    KeyMissing,
    Row,
    TableSpec,
)
from certify.store.database import Store
from certify.store.erase import erased_ids

# rows per INSERT statement: SQLite starts a statement, opens its table and indexes once
# for them all, which saves a quarter of the time of a row
BATCH = 100
# a --snapshot may remove (or cancel) at most this share of a table's rows unless allowed
MAX_REMOVE = 50


@dataclass
class ImportReport:
    """The outcome of an import that went through: its files, counts per table, warnings."""

    import_id: int
    files: list[dict[str, Any]]
    counts: dict[str, TableCounts]
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The report as plain JSON values, for `certify import --json`."""
        return {
            "import_id": self.import_id,
            "files": self.files,
            "tables": {name: vars(counts) for name, counts in self.counts.items()},
            "warnings": self.warnings,
        }


def _sql_literal(value: str | int) -> str:
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


def _upsert_sql(
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
    read and found without data rows, and whether a problem kept it from being read."""

    rows: int
    empty: bool
    unread: bool


def _load_file(
    conn: sqlite3.Connection,
    path: Path,
    *,
    file_index: int,
    spec: TableSpec,
    coercer: Coercer,
    errors: integrity.Errors,
    warnings: list[str],
    import_id: int,
    now: str,
) -> Loaded:
    """Stream one file into its table; a row a problem keeps out is noted for the checks."""
    reader = FileReader(path, spec, errors.add, warnings)
    if not reader.open():
        return Loaded(0, empty=reader.empty, unread=reader.unread)
    sql = functools.partial(
        _upsert_sql,
        spec,
        spec.columns_given(reader.header),
        import_id,
        now,
        file_index=file_index,
        extra=reader.has_extra,
    )
    file = str(path)
    key_at = reader.positions[0] if len(spec.key) == 1 else None  # only such keys are referred to
    refers_at = [
        (column, reader.positions[spec.known.index(column)])
        for table, column, _, _ in REFERENCES
        if table == spec.name
    ]

    def reject(line: int, exc: CellError, values: list[str]) -> None:
        errors.add(f"{file}:{line}: column '{exc.column}': {exc}")
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

    convert = coercer.converter(spec.name, reader.positions, file)
    rows = reader.rows(convert, reject, overfull)
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
    return Loaded(count, empty=reader.empty, unread=False)


def _is_empty(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None


def _set_indexes_aside(conn: sqlite3.Connection, table: str) -> list[str]:
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
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in indexes]


def _build(conn: sqlite3.Connection, indexes: list[str]) -> None:
    """Build the indexes set aside (see _set_indexes_aside), once."""
    while indexes:
        conn.execute(indexes.pop(0))


def import_files(
    store: Store,
    paths: Sequence[Path],
    *,
    tz: tzinfo,
    now: datetime,
    snapshot: bool = False,
    max_remove: int | None = None,
    table: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import CSV files in one transaction; on any error nothing changes (ImportFailed).

    With `snapshot`, a file without data rows that would remove rows, or one that would
    remove (enrollments: cancel) more than `max_remove` percent of its table's rows
    (default MAX_REMOVE), is an error: that is what a failed export looks like.
    """
    if max_remove is not None and not snapshot:
        raise UsageError("--max-remove goes with --snapshot: without it an import removes nothing")
    if max_remove is not None and not 0 <= max_remove <= 100:
        raise UsageError(f"--max-remove {max_remove}: a percentage from 0 to 100")
    allowed = MAX_REMOVE if max_remove is None else max_remove
    warnings: list[str] = []
    files = collect_files(paths, table, warnings)
    errors = integrity.Errors()
    now_text = to_utc_text(now)
    conn = store.conn
    file_names = [str(path) for path, _ in files]
    coercer = Coercer(tz, warnings=warnings, erased=erased_ids(conn))
    file_report: list[dict[str, Any]] = []
    # 16 MiB of pages, whatever the files' size; SQLite gives the sort that builds an index
    # as much again. A larger cache buys no speed (the system caches the file too) and made
    # memory grow with the export, by way of that sort.
    conn.execute("PRAGMA cache_size = -16384")
    integrity.start(conn)
    with store.transaction():
        import_id = conn.execute(
            "INSERT INTO imports (started_at, now, snapshot, files, counts) "
            "VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, '[]', '{}')",
            (now_text, int(snapshot)),
        ).lastrowid
        assert import_id is not None
        rows: dict[str, int] = {}
        empty: dict[str, bool] = {}
        table_files: dict[str, list[str]] = {}
        # the share a snapshot removes is of the rows the table held before this import
        before = {name: integrity.count_before(conn, name) for _, name in files} if snapshot else {}
        set_aside: list[str] = []
        was_empty: set[str] = set()
        unread: set[str] = set()  # tables with a file that could not be read
        # referenced tables first, so a reference can be checked against what is loaded
        for index, (path, name) in sorted(enumerate(files), key=lambda f: ORDER.index(f[1][1])):
            if progress:
                progress(f"reading {path}")
            if name not in rows:  # the first file of its table
                # the table before it is complete: its indexes are built while it is fresh
                _build(conn, set_aside)
                if _is_empty(conn, name):
                    was_empty.add(name)
                    set_aside = _set_indexes_aside(conn, name)
            loaded = _load_file(
                conn,
                path,
                file_index=index,
                spec=TABLES[name],
                coercer=coercer,
                errors=errors,
                warnings=warnings,
                import_id=import_id,
                now=now_text,
            )
            rows[name] = rows.get(name, 0) + loaded.rows
            empty[name] = empty.get(name, True) and loaded.empty
            if loaded.unread:
                unread.add(name)
            table_files.setdefault(name, []).append(str(path))
            file_report.append({"path": str(path), "table": name, "rows": loaded.rows})
        _build(conn, set_aside)
        if coercer.languages_not_named:
            warnings.append(
                f"{' + '.join(table_files['persons'])}: {coercer.languages_not_named} more lines "
                "with a 'language' that is not a language code; those persons get the default "
                "templates and date format"
            )
        if coercer.erased_rows:
            warnings.append(
                f"{coercer.erased_rows} rows of persons whose data was erased (certify forget) "
                "left out"
            )
        given = set(rows)
        refused = False
        if snapshot and allowed < 100:
            # an export job that failed writes a header, or nothing: never a reason to wipe
            for name in (name for name in ORDER if name in given and empty[name]):
                if before[name].removable:
                    refused = True
                    errors.add(
                        f"{' + '.join(table_files[name])} has no data rows (a failed export?) "
                        f"and {integrity.would_remove(name, before[name].removable, before[name].rows)}; "
                        "--max-remove 100 to empty the table on purpose"
                    )
        tallies = {
            name: integrity.tally(
                conn, name, import_id, stored=rows[name], was_empty=name in was_empty
            )
            for name in ORDER
            if name in given
        }
        for name, tally in tallies.items():
            if tally.duplicates:
                integrity.check_duplicates(conn, errors, import_id, file_names, name)
        # also after other problems: one import lists them all, references too
        integrity.check_references(
            conn,
            errors,
            warnings,
            import_id,
            file_names,
            given,
            snapshot=False,
            unread=frozenset(unread),
        )
        if errors.total:
            raise errors.failure(hint=_hint(refused))
        counts = {
            name: integrity.count_and_remove(conn, name, rows[name], tally, import_id, snapshot)
            for name, tally in tallies.items()
        }
        if snapshot:
            for name, table_counts in counts.items():
                removed, held = table_counts.removed, before[name].rows
                if removed * 100 > allowed * held:
                    refused = True
                    errors.add(
                        f"{' + '.join(table_files[name])} {integrity.would_remove(name, removed, held)}; "
                        f"--max-remove {integrity.percent(removed, held)} to allow"
                    )
            integrity.check_references(
                conn, errors, warnings, import_id, file_names, given, snapshot=True
            )
            if errors.total:
                raise errors.failure(hint=_hint(refused))
        conn.execute(
            "UPDATE imports SET files = ?, counts = ? WHERE id = ?",
            (
                json.dumps(file_report, ensure_ascii=False),
                json.dumps({k: vars(v) for k, v in counts.items()}),
                import_id,
            ),
        )
    store.record_zone(tz)  # the views show local times in the zone the data was read in
    return ImportReport(import_id=import_id, files=file_report, counts=counts, warnings=warnings)


def _hint(refused: bool) -> str:
    if refused:
        return (
            "nothing was imported; check the export (did its job fail?), "
            "or allow the removal with --max-remove"
        )
    return "nothing was imported; fix the lines above and run again"


__all__ = ["ImportReport", "TableCounts", "import_files"]
