"""Forgetting a person: their personal data erased from every table, bytes and all.

What stays is anonymous: the person's id (the training system's key, so that a later
import recognises the person), counts, states, certificate numbers and the moments of each
step. The erasure itself is recorded in `erasures` with its reason and the number of rows
it touched, never with the data it erased.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from certify.clock import to_utc_text
from certify.deliver.log import DeliveryLog
from certify.errors import CertifyError
from certify.locale import N_, _, ngettext
from certify.register.keep import withdraw_certificates
from certify.store.database import Store

ERASED = "(erased)"  # what a free text that named the person says instead
NOT_SENT = N_("not sent: the person's data was erased (certify forget)")

# every column that can hold a person's data, and what it becomes; email is NOT NULL
_PERSON_COLUMNS = (
    "email = '', first_name = NULL, infix = NULL, last_name = NULL, full_name = NULL, "
    "language = NULL, extra = NULL"
)
_PER_PERSON: tuple[tuple[str, str], ...] = (
    # an enrollment is cancelled: nothing is planned for a person who cannot be written to
    ("enrollments", "extra = NULL, status = 'cancelled'"),
    ("attendance", "extra = NULL"),
    ("results", "extra = NULL, grade = NULL"),
)
# free texts that may quote a name or an address (a server's reply, a reason typed by hand)
_FREE_TEXTS: tuple[tuple[str, str], ...] = (
    ("deliveries", "last_error"),
    ("delivery_events", "detail"),
    ("runs", "detail"),
    ("certificate_events", "detail"),
)


@dataclass(frozen=True)
class Erasure:
    """What one `forget` did, in counts."""

    person_id: str
    enrollments: int
    deliveries: int
    cancelled_deliveries: int  # pending (or left claimed by a killed run), now expired

    def as_json(self) -> dict[str, object]:
        return {
            "person": self.person_id,
            "enrollments": self.enrollments,
            "deliveries": self.deliveries,
            "not_sent": self.cancelled_deliveries,
        }


def erased_ids(conn: sqlite3.Connection) -> frozenset[str]:
    """The ids of every person forgotten so far: an import leaves their rows out."""
    return frozenset(row[0] for row in conn.execute("SELECT person_id FROM erasures"))


def forget(
    store: Store, person_id: str, reason: str, now: datetime, *, secure: bool = True
) -> Erasure:
    """Erase one person's personal data from every table in one transaction.

    With `secure` (the default) SQLite overwrites what it frees with zeros during the
    transaction, and the WAL is checkpointed and truncated afterwards, so that no copy of
    the erased values stays in the database's files.
    """
    if not reason.strip():
        raise CertifyError(_("--reason is empty"), hint=_("say why, for the record of erasures"))
    conn = store.conn
    conn.execute(f"PRAGMA secure_delete = {'ON' if secure else 'OFF'}")
    try:
        with store.transaction():
            erasure = _erase(conn, person_id, reason, DeliveryLog(store, now))
    finally:
        conn.execute("PRAGMA secure_delete = OFF")
    if secure:
        empty_wal(conn)
    return erasure


def empty_wal(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the database and empty it: its old frames hold the erased values."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _erase(conn: sqlite3.Connection, person_id: str, reason: str, log: DeliveryLog) -> Erasure:
    row = conn.execute(
        "SELECT email, full_name, first_name, infix, last_name FROM persons WHERE person_id = ?",
        (person_id,),
    ).fetchone()
    done = conn.execute(
        "SELECT at FROM erasures WHERE person_id = ? ORDER BY id DESC LIMIT 1", (person_id,)
    ).fetchone()
    if done is not None and (row is None or not any(row)):
        raise CertifyError(
            _("person {person}: already forgotten ({day})").format(
                person=repr(person_id), day=done[0][:10]
            ),
            hint=_("nothing of this person's data is left to erase"),
        )
    enrollments = conn.execute(
        "SELECT count(*) FROM enrollments WHERE person_id = ?", (person_id,)
    ).fetchone()[0]
    deliveries = conn.execute(
        "SELECT count(*) FROM deliveries WHERE person_id = ?", (person_id,)
    ).fetchone()[0]
    if row is None and not enrollments and not deliveries:
        raise CertifyError(
            _("person {person}: not in the database").format(person=repr(person_id)),
            hint=_("give the id as the export has it (certify explain --person NAME finds it)"),
        )
    needles = _needles(row)
    for table, column in _FREE_TEXTS:
        for needle in needles:
            conn.execute(
                f"UPDATE {table} SET {column} = replace({column}, ?, ?) "
                f"WHERE instr({column}, ?) > 0",
                (needle, ERASED, needle),
            )
    conn.execute(f"UPDATE persons SET {_PERSON_COLUMNS} WHERE person_id = ?", (person_id,))
    for table, assignments in _PER_PERSON:
        conn.execute(f"UPDATE {table} SET {assignments} WHERE person_id = ?", (person_id,))
    not_sent = log.expire_unsent(conn, person_id, _(NOT_SENT))
    withdraw_certificates(conn, person_id, log.now_text)
    # the address each delivery went to: the log keeps that one was sent, not where
    conn.execute("UPDATE deliveries SET email = NULL WHERE person_id = ?", (person_id,))
    erasure = Erasure(person_id, enrollments, deliveries, not_sent)
    conn.execute(
        "INSERT INTO erasures (person_id, at, reason, counts) VALUES (?, ?, ?, ?)",
        (person_id, log.now_text, reason, json.dumps(erasure.as_json())),
    )
    return erasure


def _needles(row: tuple[str | None, ...] | None) -> list[str]:
    """The texts that identify the person inside a free text: the address and the names
    as they are written together (a first name alone would also match other words)."""
    if row is None:
        return []
    email, full, first, infix, last = row
    joined = " ".join(part for part in (first, infix, last) if part)
    found = {value for value in (email, full, joined) if value and len(value) >= 3}
    return sorted(found, key=len, reverse=True)  # the longest first: no half-replaced name


def persons_past_retention(conn: sqlite3.Connection, cutoff: datetime) -> list[str]:
    """Persons not forgotten yet whose last course ended before `cutoff`."""
    return [
        person_id
        for (person_id,) in conn.execute(
            "SELECT e.person_id FROM enrollments e JOIN courses c ON c.course_id = e.course_id "
            "JOIN persons p ON p.person_id = e.person_id WHERE p.email != '' "
            'GROUP BY e.person_id HAVING max(c."end") < ? ORDER BY e.person_id',
            (to_utc_text(cutoff),),
        )
    ]


def forget_past_retention(store: Store, months: int, now: datetime) -> int:
    """Forget every person whose last course ended more than `months` before `now` (the
    `retention: {personal_data}` of actions.yaml); how many were."""
    from dateutil.relativedelta import relativedelta

    persons = persons_past_retention(store.conn, now - relativedelta(months=months))
    years, rest = divmod(months, 12)
    kept = (
        ngettext("{count} year", "{count} years", years).format(count=years)
        if not rest
        else ngettext("{count} month", "{count} months", months).format(count=months)
    )
    reason = _("retention: personal data is kept {kept} after the last course").format(kept=kept)
    conn = store.conn
    if not persons:
        return 0
    conn.execute("PRAGMA secure_delete = ON")
    try:
        with store.transaction():
            log = DeliveryLog(store, now)
            for person_id in persons:
                _erase(conn, person_id, reason, log)
    finally:
        conn.execute("PRAGMA secure_delete = OFF")
    empty_wal(conn)
    return len(persons)
