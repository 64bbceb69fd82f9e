"""A person's right to be forgotten: `forget`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from certify.cli.app import DbOption, JsonOption, WaitOption, app, emit_json, errors, plain
from certify.locale import _, ngettext
from certify.store.database import Store, db_path


@app.command()
def forget(
    person: Annotated[
        str, typer.Option("--person", metavar="ID", help="The person_id whose data to erase.")
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason", metavar="TEXT", help="Why, for the record of erasures (never the data)."
        ),
    ],
    wait: WaitOption = 10.0,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase one person's personal data from the database, its files included.

    Names, e-mail address, language and extra columns go, and what a free text said of
    them; counts, states and certificate numbers stay. Deliveries not sent yet will never
    be; a later import leaves out the rows of this person.
    """
    from certify.store.erase import forget as erase
    from certify.store.lock import run_lock

    with errors():
        path = db_path(db)
        with run_lock(path, wait), Store.open(path, create=False) as store:
            done = erase(store, person, reason, datetime.now(UTC).replace(microsecond=0))
    if as_json:
        emit_json(done.as_json())
        return
    line = _("forgot person {person}; kept without personal data: {kept}").format(
        person=person,
        kept=", ".join(
            (
                ngettext("{count} enrollment", "{count} enrollments", done.enrollments).format(
                    count=done.enrollments
                ),
                ngettext("{count} delivery", "{count} deliveries", done.deliveries).format(
                    count=done.deliveries
                ),
            )
        ),
    )
    if done.cancelled_deliveries:
        line += ngettext(
            "; {count} delivery not sent yet will never be",
            "; {count} deliveries not sent yet will never be",
            done.cancelled_deliveries,
        ).format(count=done.cancelled_deliveries)
    plain(line)
