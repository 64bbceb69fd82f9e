"""Which header of an export is which column: the `columns` of actions.yaml's `import:`
section applied to a file's header, and the header a column is shown by in a message."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from certify.errors import did_you_mean
from certify.locale import _


class Header:
    """A file's header as the column names it holds (lower-case), with the header each
    mapped column was written as, for messages."""

    def __init__(self, names: list[str], titles: dict[str, str]) -> None:
        self.names = names
        self.titles = titles

    def describe(self, column: str) -> str:
        """`'Einddatum' (end)` for a mapped column, `'end'` for one named as itself."""
        title = self.titles.get(column)
        return f"{title!r} ({column})" if title else repr(column)


def map_header(
    written: Sequence[str],
    columns: Mapping[str, str],
    *,
    where: str,
    report_error: Callable[[str], None],
    mapped_at: Mapping[str, str] | None = None,
) -> Header | None:
    """The header `written` (trimmed) with each mapped header renamed to its column; names
    match trimmed and case-insensitively. A mapped header the file lacks is an error at
    `where` (FILE:LINE) listing the headers it has, and where actions.yaml maps it
    (`mapped_at`, by column); then None."""
    folded = [name.strip().casefold() for name in written]
    names = [name.strip().lower() for name in written]
    titles: dict[str, str] = {}
    missing = False
    for column, header in columns.items():
        wanted = header.strip().casefold()
        if wanted not in folded:
            missing = True
            has = [name.strip() for name in written if name.strip()]
            said = _(
                "column '{column}' is mapped to header {header}, which the file lacks "
                "(its headers: {headers})"
            ).format(column=column, header=repr(header), headers=", ".join(has))
            place = (mapped_at or {}).get(column)
            fix = "; " + _("change it at {place}").format(place=place) if place else ""
            report_error(f"{where}: {said}{fix}{did_you_mean(header, has)}")
            continue
        index = folded.index(wanted)
        names[index] = column
        titles[column] = written[index].strip()
    return None if missing else Header(names, titles)
