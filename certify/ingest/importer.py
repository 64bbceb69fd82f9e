"""Exports → store, in one transaction: rows upserted, then keys and references checked.

Each file's rows stream straight into their table through one `INSERT … ON CONFLICT`, a
hundred rows a statement, so memory does not grow with a file's size; a table filled from
empty gets its indexes built after its rows. Every row records the import, file and line
that last saw it; afterwards SQL, not Python sets, finds duplicate keys (a row this import
saw twice) and references to nothing, each referred value looked up once. Any problem
rolls the whole transaction back.

The steps: discover the files (discover.py), read and write each (load.py, flat.py),
check what they brought, and commit the counts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from certify.clock import to_utc_text
from certify.errors import UsageError
from certify.ingest import integrity
from certify.ingest.discover import FLAT, Source, collect_files
from certify.ingest.flat import FLAT_TABLES, FlatCertificate, create_course_types, load_flat
from certify.ingest.integrity import TableCounts
from certify.ingest.load import BATCH, Loaded, Target, build, is_empty, load_file
from certify.ingest.load import set_indexes_aside as set_aside_indexes
from certify.ingest.settings import ImportSettings
from certify.ingest.tables import ORDER, Coercer
from certify.locale import _, ngettext
from certify.store.database import Store
from certify.store.erase import erased_ids

# a --snapshot may remove (or cancel) at most this share of a table's rows unless allowed
MAX_REMOVE = 50
# places a warning about many rows names; the rest are counted
FIRST_PLACES = 3


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


@dataclass
class _Loading:
    """What the files of one import brought, per table, while they are read and written."""

    rows: dict[str, int] = field(default_factory=dict)
    empty: dict[str, bool] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    unread: set[str] = field(default_factory=set)  # tables with a file that could not be read
    was_empty: set[str] = field(default_factory=set)
    report: list[dict[str, Any]] = field(default_factory=list)
    flat_files: list[int] = field(default_factory=list)
    certificates: list[FlatCertificate] = field(default_factory=list)  # a flat file names

    def add(self, table: str, loaded: Loaded) -> None:
        self.rows[table] = self.rows.get(table, 0) + loaded.rows
        self.empty[table] = self.empty.get(table, True) and loaded.empty
        if loaded.unread:
            self.unread.add(table)
        self.files.setdefault(table, []).append(loaded.label)


def _tables_of(source: Source) -> tuple[str, ...]:
    return FLAT_TABLES if source.table == FLAT else (source.table,)


def _order(source: Source) -> int:
    return len(ORDER) if source.table == FLAT else ORDER.index(source.table)


def _read_and_write(
    target: Target,
    sources: list[Source],
    labels: list[str],
    progress: Callable[[str], None] | None,
) -> _Loading:
    """Stream every file into its tables, referenced tables first; `labels` gets each
    file's name as messages give it."""
    conn = target.conn
    loading = _Loading()
    set_aside: list[str] = []
    for index, source in sorted(enumerate(sources), key=lambda item: _order(item[1])):
        if progress:
            progress(f"reading {source.path}")
        fresh = [table for table in _tables_of(source) if table not in loading.rows]
        if fresh:
            # the tables before are complete: their indexes are built while they are fresh
            build(conn, set_aside)
            for table in fresh:
                if is_empty(conn, table):
                    loading.was_empty.add(table)
                    set_aside += set_aside_indexes(conn, table)
        if source.table == FLAT:
            loaded = load_flat(target, source, file_index=index, certificates=loading.certificates)
            loading.flat_files.append(index)
        else:
            loaded = {source.table: load_file(target, source, file_index=index)}
        for table, result in loaded.items():
            loading.add(table, result)
        label = next(iter(loaded.values())).label
        labels[index] = label
        for table, result in loaded.items():
            loading.report.append({"path": label, "table": table, "rows": result.rows})
    build(conn, set_aside)
    return loading


def _check(
    target: Target,
    loading: _Loading,
    labels: list[str],
    before: dict[str, integrity.Before],
    *,
    snapshot: bool,
    allowed: int,
) -> tuple[dict[str, integrity.Tally], bool]:
    """Every check of what the files brought; the tallies, and whether a --snapshot guard
    refused (the problems are in target.errors)."""
    conn, errors, warnings = target.conn, target.errors, target.warnings
    if target.coercer.languages_not_named:
        said = _(
            "{count} more lines with a 'language' that is not a language code; those persons "
            "get the default templates and date format"
        ).format(count=target.coercer.languages_not_named)
        warnings.append(f"{' + '.join(loading.files['persons'])}: {said}")
    if target.coercer.erased_rows:
        warnings.append(
            _("{count} rows of persons whose data was erased (certify forget) left out").format(
                count=target.coercer.erased_rows
            )
        )
    given = set(loading.rows)
    refused = False
    if snapshot and allowed < 100:
        # an export job that failed writes a header, or nothing: never a reason to wipe
        for name in (name for name in ORDER if name in given and loading.empty[name]):
            if before[name].removable:
                refused = True
                said = _(
                    "{files} has no data rows (a failed export?) and {removal}; --max-remove 100 "
                    "to empty the table on purpose"
                )
                removal = integrity.would_remove(name, before[name].removable, before[name].rows)
                errors.add(said.format(files=" + ".join(loading.files[name]), removal=removal))
    tallies = {
        name: integrity.tally(
            conn,
            name,
            target.import_id,
            stored=loading.rows[name],
            was_empty=name in loading.was_empty,
        )
        for name in ORDER
        if name in given
    }
    for name, tally in tallies.items():
        if tally.duplicates:
            integrity.check_duplicates(conn, errors, target.import_id, labels, name)
    create_course_types(conn, target.import_id, loading.flat_files)
    # also after other problems: one import lists them all, references too
    integrity.check_references(
        conn,
        errors,
        warnings,
        target.import_id,
        labels,
        given,
        snapshot=False,
        unread=frozenset(loading.unread),
    )
    if "results" in given:
        _results_not_required(conn, target.import_id, labels, warnings)
    return tallies, refused


def _results_not_required(
    conn: sqlite3.Connection, import_id: int, labels: list[str], warnings: list[str]
) -> None:
    """One warning for the results this import registered on parts that require no pass:
    the pass rule never counts them, which an administrator may not expect."""
    found = conn.execute(
        "SELECT r.seen_file, r.seen_line FROM results r JOIN parts p ON p.part_id = r.part_id "
        "WHERE r.seen_import = ? AND p.pass_required = 0 ORDER BY r.seen_file, r.seen_line",
        (import_id,),
    )
    places = [f"{labels[file]}:{line}" for file, line in found.fetchmany(FIRST_PLACES)]
    if not places:
        return
    total = len(places) + sum(1 for _ in found)
    first = ", ".join(places) + (", ..." if total > len(places) else "")
    said = ngettext(
        "{count} result is registered on a part that requires no pass ({first}); it is not "
        "counted: set pass_required on the part if its exam counts",
        "{count} results are registered on a part that requires no pass ({first}); they are not "
        "counted: set pass_required on the part if its exam counts",
        total,
    )
    warnings.append(said.format(count=total, first=first))


def _commit(
    target: Target,
    loading: _Loading,
    tallies: dict[str, integrity.Tally],
    labels: list[str],
    before: dict[str, integrity.Before],
    *,
    snapshot: bool,
    allowed: int,
    refused: bool,
) -> dict[str, TableCounts]:
    """The counts per table, a --snapshot's removals made and guarded, the import recorded."""
    conn, errors, import_id = target.conn, target.errors, target.import_id
    counts = {
        name: integrity.count_and_remove(conn, name, loading.rows[name], tally, import_id, snapshot)
        for name, tally in tallies.items()
    }
    if snapshot:
        for name, table_counts in counts.items():
            removed, held = table_counts.removed, before[name].rows
            if removed * 100 > allowed * held:
                refused = True
                said = _("{removal}; --max-remove {percent} to allow").format(
                    removal=integrity.would_remove(name, removed, held),
                    percent=integrity.percent(removed, held),
                )
                errors.add(f"{' + '.join(loading.files[name])} {said}")
        integrity.check_references(
            conn, errors, target.warnings, import_id, labels, set(loading.rows), snapshot=True
        )
        if errors.total:
            raise errors.failure(hint=_hint(refused))
    conn.execute(
        "UPDATE imports SET files = ?, counts = ? WHERE id = ?",
        (
            json.dumps(loading.report, ensure_ascii=False),
            json.dumps({k: vars(v) for k, v in counts.items()}),
            import_id,
        ),
    )
    return counts


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
    settings: ImportSettings | None = None,
    then: Callable[[sqlite3.Connection, list[FlatCertificate]], None] | None = None,
    mapped_at: Mapping[tuple[str, str], str] | None = None,
) -> ImportReport:
    """Import export files in one transaction; on any error nothing changes (ImportFailed).

    `settings` (actions.yaml's `import:` section) names the files, their headers, their
    encoding, extra yes/no words, or one flat file. With `snapshot`, a file without data
    rows that would remove rows, or one that would remove (enrollments: cancel) more than
    `max_remove` percent of its table's rows (default MAX_REMOVE), is an error: that is
    what a failed export looks like. `then` runs in the same transaction once the tables
    are in, with the certificates a flat file named (the register's certificates.csv, which
    names their rows): its error undoes all. `mapped_at` places each (table, column) of
    the `import:` section in actions.yaml, for a header a file lacks.
    """
    if max_remove is not None and not snapshot:
        raise UsageError(
            _("--max-remove goes with --snapshot: without it an import removes nothing")
        )
    if max_remove is not None and not 0 <= max_remove <= 100:
        raise UsageError(f"--max-remove {max_remove}: " + _("a percentage from 0 to 100"))
    allowed = MAX_REMOVE if max_remove is None else max_remove
    warnings: list[str] = []
    sources = collect_files(paths, table, warnings, settings, mapped_at)
    labels = [str(source.path) for source in sources]
    conn = store.conn
    words = settings.words() if settings is not None else {}
    # 16 MiB of pages, whatever the files' size; SQLite gives the sort that builds an index
    # as much again. A larger cache buys no speed (the system caches the file too) and made
    # memory grow with the export, by way of that sort.
    conn.execute("PRAGMA cache_size = -16384")
    integrity.start(conn)
    with store.transaction():
        import_id = conn.execute(
            "INSERT INTO imports (started_at, now, snapshot, files, counts) "
            "VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, '[]', '{}')",
            (to_utc_text(now), int(snapshot)),
        ).lastrowid
        assert import_id is not None
        target = Target(
            conn,
            import_id,
            to_utc_text(now),
            Coercer(tz, warnings=warnings, words=words, erased=erased_ids(conn)),
            integrity.Errors(),
            warnings,
        )
        # the share a snapshot removes is of the rows the table held before this import
        tables = {name for source in sources for name in _tables_of(source)}
        before = {name: integrity.count_before(conn, name) for name in tables} if snapshot else {}
        loading = _read_and_write(target, sources, labels, progress)
        tallies, refused = _check(
            target, loading, labels, before, snapshot=snapshot, allowed=allowed
        )
        if target.errors.total:
            raise target.errors.failure(hint=_hint(refused))
        counts = _commit(
            target,
            loading,
            tallies,
            labels,
            before,
            snapshot=snapshot,
            allowed=allowed,
            refused=refused,
        )
        if then is not None:
            then(conn, loading.certificates)
        # the views show local times in the zone the data was read in: committed with it
        if not store.zone_recorded(tz):
            store.write_zone(tz)
    return ImportReport(import_id=import_id, files=loading.report, counts=counts, warnings=warnings)


def _hint(refused: bool) -> str:
    if refused:
        return _(
            "nothing was imported; check the export (did its job fail?), "
            "or allow the removal with --max-remove"
        )
    return _("nothing was imported; fix the lines above and run again")


__all__ = ["BATCH", "ImportReport", "TableCounts", "import_files"]
