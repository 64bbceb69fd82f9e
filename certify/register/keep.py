"""The register's store: certificates kept as issued, their states, and what reads them.

A certificate's PDF is noted when its message is rendered and written in the transaction
that marks the delivery `sending`, so it is on disk before the message can have left. It
counts as issued once its delivery is `sent` or `unknown` (by a run, a recovery or by
hand): `issue_delivered` runs in each transaction that records such an outcome.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from certify.errors import CertifyError
from certify.locale import _
from certify.register.codes import is_number, new_code, read_code, shown
from certify.store.database import Store
from certify.words import certificate_state_word


class CertificateState(StrEnum):
    """What a certificate in the register is, today."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


# the states of a delivery whose message may have reached the person
ISSUING_STATES = ("sent", "unknown")
# the keys of `list --json` and the columns of register.csv, in this order
LISTED = (
    "number",
    "code",
    "person_id",
    "full_name",
    "course_id",
    "course_name",
    "issued_on",
    "valid_until",
    "state",
    "source",
)


@dataclass(frozen=True, slots=True)
class Certificate:
    """What a certificate says, as the register keeps it."""

    number: str
    code: str
    action: str
    course_id: str
    person_id: str
    course_name: str
    course_start: str | None
    course_end: str | None
    language: str
    issued_on: str
    valid_until: str | None


@dataclass(frozen=True, slots=True)
class Kept(Certificate):
    """One rendered certificate, as it is attached to its message."""

    delivery_id: int | None
    full_name: str
    replaces: str | None
    pdf: bytes


class CertificateKeeper:
    """The certificates rendered by a run, noted until the next `sending` mark writes them."""

    def __init__(self, now_text: str) -> None:
        self.now_text = now_text
        self._noted: list[Kept] = []

    def note(self, kept: Kept) -> None:
        """Keep this PDF with the next write (see the module's docstring)."""
        self._noted.append(kept)

    def write(self, conn: sqlite3.Connection) -> None:
        """Write what was noted; an issued certificate is never replaced (a forced re-send
        renders it again, but what was issued stays as it was)."""
        if not self._noted:
            return
        rows = [
            {
                "number": k.number,
                "code": k.code,
                "delivery_id": k.delivery_id,
                "action": k.action,
                "course_id": k.course_id,
                "person_id": k.person_id,
                "full_name": k.full_name,
                "course_name": k.course_name,
                "course_start": k.course_start,
                "course_end": k.course_end,
                "language": k.language,
                "issued_on": k.issued_on,
                "valid_until": k.valid_until,
                "replaces": k.replaces,
                "pdf": k.pdf,
                "sha256": hashlib.sha256(k.pdf).hexdigest(),
                "now": self.now_text,
            }
            for k in self._noted
        ]
        # the PDF first, while its certificate, if any, still says whether it was issued
        conn.executemany(
            "INSERT INTO certificate_files (number, pdf) SELECT :number, :pdf "
            "WHERE (SELECT issued_at FROM certificates WHERE number = :number) IS NULL "
            "ON CONFLICT (number) DO UPDATE SET pdf = excluded.pdf",
            rows,
        )
        conn.executemany(
            "INSERT INTO certificates (number, code, delivery_id, action, course_id, person_id, "
            "full_name, course_name, course_start, course_end, language, issued_on, "
            "valid_until, replaces, sha256, changed_at) "
            "VALUES (:number, :code, :delivery_id, :action, :course_id, :person_id, "
            ":full_name, :course_name, :course_start, :course_end, :language, :issued_on, "
            ":valid_until, :replaces, :sha256, :now) "
            "ON CONFLICT (number) DO UPDATE SET full_name = excluded.full_name, "
            "course_name = excluded.course_name, course_start = excluded.course_start, "
            "course_end = excluded.course_end, language = excluded.language, "
            "issued_on = excluded.issued_on, valid_until = excluded.valid_until, "
            "sha256 = excluded.sha256, changed_at = excluded.changed_at "
            "WHERE certificates.issued_at IS NULL",
            rows,
        )
        self._noted = []


def issue_delivered(conn: sqlite3.Connection, now_text: str) -> None:
    """Mark issued every kept certificate whose delivery is now `sent` or `unknown`; a
    re-issue's predecessor becomes superseded by it at the same moment."""
    issued = conn.execute(
        "UPDATE certificates SET issued_at = ?, changed_at = ? WHERE issued_at IS NULL "
        "AND delivery_id IN (SELECT d.id FROM deliveries d WHERE d.id = certificates.delivery_id "
        f"AND d.state IN {ISSUING_STATES!r}) RETURNING number, replaces",
        (now_text, now_text),
    ).fetchall()
    for number, replaces in issued:
        conn.execute(
            "INSERT INTO certificate_events (number, at, event, detail) VALUES (?, ?, 'issued', ?)",
            (number, now_text, f"replaces {replaces}" if replaces else None),
        )
        if replaces:
            conn.execute(
                "UPDATE certificates SET superseded_by = ?, changed_at = ? WHERE number = ?",
                (number, now_text, replaces),
            )
            conn.execute(
                "INSERT INTO certificate_events (number, at, event, detail) "
                "VALUES (?, ?, 'superseded', ?)",
                (replaces, now_text, f"by {number}"),
            )


@dataclass(frozen=True, slots=True)
class Entry(Certificate):
    """One certificate of the register, as `list`, `verify` and the site show it."""

    full_name: str | None
    state: CertificateState
    source: str
    revoked_reason: str | None
    superseded_by: str | None
    sha256: str | None

    def listed(self) -> dict[str, str]:
        """The columns of `list`: dates as YYYY-MM-DD, empty where there is nothing."""
        return {
            "number": self.number,
            "code": shown(self.code),
            "person_id": self.person_id,
            "full_name": self.full_name or "",
            "course_id": self.course_id,
            "course_name": self.course_name,
            "issued_on": self.issued_on,
            "valid_until": self.valid_until or "",
            "state": str(self.state),
            "source": self.source,
        }


def state_on(
    today: date,
    *,
    revoked: bool,
    superseded: bool,
    withdrawn: bool,
    valid_until: str | None,
) -> CertificateState:
    """The state of a certificate on a day: the administrator's acts first, then time."""
    if withdrawn:
        return CertificateState.WITHDRAWN
    if revoked:
        return CertificateState.REVOKED
    if superseded:
        return CertificateState.SUPERSEDED
    if valid_until and date.fromisoformat(valid_until) < today:
        return CertificateState.EXPIRED
    return CertificateState.VALID


_ENTRY_COLUMNS = (
    "number, code, person_id, full_name, course_id, course_name, course_start, course_end, "
    "language, issued_on, valid_until, source, revoked_at, revoked_reason, superseded_by, "
    "withdrawn_at, sha256, action"
)


class UnknownCertificate(CertifyError):
    """A number or code that names no issued certificate."""


class Register:
    """The issued certificates of one store, as seen on one day."""

    def __init__(self, store: Store, today: date) -> None:
        self.store = store
        self.conn = store.conn
        self.today = today

    def _entry(self, row: sqlite3.Row | tuple[Any, ...]) -> Entry:
        (number, code, person, name, course, course_name, start, end, language, issued_on,
         valid_until, source, revoked_at, reason, superseded_by, withdrawn_at, sha256,
         action) = row  # fmt: skip
        state = state_on(
            self.today,
            revoked=revoked_at is not None,
            superseded=superseded_by is not None,
            withdrawn=withdrawn_at is not None,
            valid_until=valid_until,
        )
        return Entry(
            number=number, code=code, action=action, course_id=course, person_id=person,
            course_name=course_name, course_start=start, course_end=end, language=language,
            issued_on=issued_on, valid_until=valid_until, full_name=name, state=state,
            source=source, revoked_reason=reason, superseded_by=superseded_by, sha256=sha256,
        )  # fmt: skip

    def entries(
        self,
        *,
        course: str | None = None,
        person: str | None = None,
        state: str | None = None,
        since: str | None = None,
    ) -> list[Entry]:
        """The issued certificates, oldest first, filtered as asked."""
        rows = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM certificates WHERE issued_at IS NOT NULL "
            "AND (:c IS NULL OR course_id = :c) AND (:p IS NULL OR person_id = :p) "
            "AND (:s IS NULL OR issued_on >= :s) ORDER BY issued_on, number",
            {"c": course, "p": person, "s": since},
        ).fetchall()
        found = [self._entry(row) for row in rows]
        return [e for e in found if state is None or e.state == state]

    def find(self, reference: str) -> Entry:
        """The issued certificate a number or a code (as typed) names; UnknownCertificate else."""
        number = reference.strip()
        # an imported certificate keeps the previous system's number, whatever its shape;
        # a number certify gives is never read as a code, and a number found wins over one
        code = None if is_number(number) else read_code(reference)
        row = self.conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM certificates WHERE issued_at IS NOT NULL "
            "AND (number = ? OR code = ?) ORDER BY number = ? DESC LIMIT 1",
            (number, code, number),
        ).fetchone()
        if row is None:
            raise UnknownCertificate(
                _("no issued certificate has the number or code {reference}").format(
                    reference=repr(reference.strip())
                ),
                hint=_(
                    "a number reads 2026-000123-4, a code ABCD-EFGH-JKMN "
                    "(`certify certificates list` shows them)"
                ),
            )
        return self._entry(row)

    def pdf(self, number: str) -> bytes:
        """The PDF as it was issued, checked against its SHA-256."""
        row = self.conn.execute(
            "SELECT f.pdf, c.sha256 FROM certificates c JOIN certificate_files f "
            "ON f.number = c.number WHERE c.number = ?",
            (number,),
        ).fetchone()
        if row is None or row[0] is None:
            raise CertifyError(
                _("certificate {number} has no PDF kept (withdrawn or imported)").format(
                    number=number
                )
            )
        data, digest = bytes(row[0]), row[1]
        if hashlib.sha256(data).hexdigest() != digest:
            raise CertifyError(
                _("certificate {number}: the kept PDF does not match its SHA-256").format(
                    number=number
                ),
                hint=_("restore the database from a backup (`certify backup` keeps the PDFs)"),
            )
        return data

    def revoke(self, entry: Entry, reason: str, now_text: str) -> None:
        """State `revoked`, with the reason in the certificate's history; nothing is mailed."""
        if entry.state in (CertificateState.REVOKED, CertificateState.WITHDRAWN):
            raise CertifyError(
                _("certificate {number} is already {state}").format(
                    number=entry.number, state=certificate_state_word(entry.state)
                )
            )
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE certificates SET revoked_at = ?, revoked_reason = ?, changed_at = ? "
                "WHERE number = ?",
                (now_text, reason, now_text, entry.number),
            )
            conn.execute(
                "INSERT INTO certificate_events (number, at, event, detail) "
                "VALUES (?, ?, 'revoked', ?)",
                (entry.number, now_text, reason),
            )

    def history(self, number: str) -> list[tuple[str, str, str | None]]:
        """The certificate's events: (at, event, detail), oldest first."""
        return [
            (at, event, detail)
            for at, event, detail in self.conn.execute(
                "SELECT at, event, detail FROM certificate_events WHERE number = ? ORDER BY id",
                (number,),
            )
        ]


def known_code(conn: sqlite3.Connection, number: str) -> str | None:
    """The code a certificate number already has (a retry keeps it), or None."""
    row = conn.execute("SELECT code FROM certificates WHERE number = ?", (number,)).fetchone()
    return None if row is None else str(row[0])


def code_for(conn: sqlite3.Connection, number: str | None) -> str:
    """The verification code of a delivery's certificate, as shown: the one it was given
    before (a retry prints the same), else a new one (kept once the PDF is)."""
    return shown((known_code(conn, number) if number else None) or new_code())


def withdraw_certificates(conn: sqlite3.Connection, person_id: str, now_text: str) -> int:
    """A forgotten person's certificates: their PDFs and the name as printed erased, each one
    `withdrawn` (number and code stay, anonymous); returns how many."""
    numbers = [
        row[0]
        for row in conn.execute(
            "UPDATE certificates SET full_name = NULL, revoked_reason = NULL, "
            "withdrawn_at = coalesce(withdrawn_at, ?), changed_at = ? WHERE person_id = ? "
            "RETURNING number",
            (now_text, now_text, person_id),
        )
    ]
    conn.executemany("DELETE FROM certificate_files WHERE number = ?", [(n,) for n in numbers])
    conn.executemany(
        "INSERT INTO certificate_events (number, at, event, detail) "
        "VALUES (?, ?, 'withdrawn', 'the person was forgotten')",
        [(number, now_text) for number in numbers],
    )
    return len(numbers)
