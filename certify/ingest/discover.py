"""Which files an import reads, and as what: the paths given, matched against the known
file names or the globs of actions.yaml's `import:` section."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from certify.errors import CertifyError, UsageError
from certify.ingest.csvfiles import ReadOptions
from certify.ingest.settings import ImportSettings
from certify.ingest.tables import ORDER, TABLES
from certify.locale import _

FLAT = "flat"  # the table name of a flat file: one row per participant per part

# hidden files (.DS_Store), LibreOffice's (.~lock.x#) and Excel's (~$x) lock files
_PASSED_OVER = (".", "~$")


@dataclass(frozen=True)
class Source:
    """One file to import: its table (or FLAT) and how it is read."""

    path: Path
    table: str
    options: ReadOptions


def _patterns(settings: ImportSettings) -> list[tuple[str, list[str]]]:
    """(table, lower-case globs) in dependency order, the flat file last."""
    found: list[tuple[str, list[str]]] = []
    for name in ORDER:
        given = settings.tables.get(name)  # type: ignore[call-overload]
        if given is not None and given.file:
            found.append((name, [given.file.lower()]))
        else:
            found.append((name, [f"{name}.csv", f"{name}.xlsx"]))
    if settings.flat is not None:
        found.append((FLAT, [settings.flat.file.lower()]))
    return found


def _options(
    settings: ImportSettings, table: str, mapped_at: Mapping[tuple[str, str], str]
) -> ReadOptions:
    places = {column: place for (named, column), place in mapped_at.items() if named == table}
    if table == FLAT:
        assert settings.flat is not None
        return ReadOptions(settings.encoding, settings.flat.columns, settings.flat.sheet, places)
    given = settings.tables.get(table)  # type: ignore[call-overload]
    if given is None:
        return ReadOptions(settings.encoding)
    return ReadOptions(settings.encoding, given.columns, given.sheet, places)


def _table_of(name: str, patterns: list[tuple[str, list[str]]]) -> str | None:
    lowered = name.lower()
    for table, globs in patterns:
        if any(fnmatchcase(lowered, glob) for glob in globs):
            return table
    return None


def _flat_hint() -> str:
    return _(
        "an export with its own headers, or one row per participant per part, is read "
        "through the import: section of actions.yaml (flat: for one file; certify init "
        "writes it, commented out)"
    )


def _unmatched_hint(settings: ImportSettings, others: list[Path]) -> str | None:
    """What to change when a folder holds files but none the import: section names."""
    if not others:
        return None
    if settings.flat is None:
        return _flat_hint()
    # the kit's example glob, left as it is, is the likely cause: say where it is set
    return _(
        "the import: section of actions.yaml says flat: file: {glob}, which names none of "
        "these files; set it to the export's name or a glob, such as file: {name}"
    ).format(glob=repr(settings.flat.file), name=repr(others[0].name))


def collect_files(
    paths: Sequence[Path],
    table: str | None,
    warnings: list[str],
    settings: ImportSettings | None = None,
    mapped_at: Mapping[tuple[str, str], str] | None = None,
) -> list[Source]:
    """The files to import for the paths given; directories yield every known file in them.

    Any other file in a directory is a note in `warnings` (a misnamed export would
    otherwise be left out without a word), unless an `ignore` glob names it. Hidden and
    lock files are passed over. `mapped_at` says where actions.yaml maps each (table,
    column), for a header a file lacks.
    """
    mapped_at = mapped_at or {}
    settings = settings or ImportSettings()
    tables = [*TABLES, FLAT] if settings.flat is not None else list(TABLES)
    if table is not None and table not in tables:
        said = _("unknown table {table} (one of: {tables})").format(
            table=repr(table), tables=", ".join(tables)
        )
        raise UsageError(said, hint=_flat_hint() if table == FLAT else None)
    patterns = _patterns(settings)
    known_files = ", ".join(globs[0] for _, globs in patterns)
    ignore = [glob.lower() for glob in settings.ignore]
    found: list[Source] = []
    others: list[Path] = []
    for path in paths:
        if path.is_dir():
            if table is not None:
                raise UsageError(_("--table goes with a single file, not a directory"))
            children = sorted(child for child in path.iterdir() if child.is_file())
            for child in children:
                name = child.name.lower()
                if name.startswith(_PASSED_OVER):
                    continue
                matched = _table_of(name, patterns)
                if matched is not None:
                    found.append(Source(child, matched, _options(settings, matched, mapped_at)))
                elif not any(fnmatchcase(name, glob) for glob in ignore):
                    others.append(child)
        elif path.is_file():
            named = table or _table_of(path.name, patterns)
            if named is None:
                said = _("not a known table name; rename it to one of {known} or pass --table NAME")
                raise CertifyError(f"{path}: {said.format(known=known_files)}")
            found.append(Source(path, named, _options(settings, named, mapped_at)))
        else:
            raise CertifyError(f"{path}: " + _("no such file or directory"))
    if not found:
        names = [child.name for child in others[:5]] + (["..."] if len(others) > 5 else [])
        where = ", ".join(map(str, paths))
        said = (
            _("no known export files in {paths} (found {names}; expected names such as {known})")
            if others
            else _("no known export files in {paths} (expected names such as {known})")
        )
        raise CertifyError(
            said.format(paths=where, names=", ".join(names), known=known_files),
            hint=_unmatched_hint(settings, others),
        )
    for child in others:
        said = _(
            "not a known table name, not imported (known: {known}; `import: ignore` in "
            "actions.yaml passes over files that are not exports)"
        ).format(known=known_files)
        warnings.append(f"{child}: {said}")
    return found
