"""What a certificate prints of itself: number, code, verification URL and dates."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from certify.register.codes import read_code, shown
from certify.register.keep import Kept

if TYPE_CHECKING:
    from certify.config import Config
    from certify.render.context import DeliveryRef


def certificate_view(
    config: Config, action: Any, course: Mapping[str, Any], delivery: DeliveryRef, today: date
) -> dict[str, Any]:
    """`certificate` of a template: number, code, its verification URL and dates."""
    return {
        "number": delivery.certificate_number,
        "code": delivery.code,
        "verify_url": config.settings.certificates.url_for(delivery.code) if delivery.code else "",
        "issued_on": today,
        "valid_until": valid_until(action, course, config.tz),
        "replaces": delivery.replaces,
    }


def reminded_certificate(
    conn: sqlite3.Connection, config: Config, of: str, course_id: str, person_id: str
) -> dict[str, Any]:
    """`certificate` of a renewal reminder's template: the certificate of action `of` that
    it reminds of (of two, the one issued last), so the invitation can say which expires
    and when; empty values when there is none (a preview without a register)."""
    row = conn.execute(
        "SELECT number, code, issued_on, valid_until FROM certificates WHERE action = ? "
        "AND course_id = ? AND person_id = ? AND superseded_by IS NULL "
        "AND (issued_at IS NOT NULL OR source = 'imported') "
        "ORDER BY issued_on DESC, number DESC LIMIT 1",
        (of, course_id, person_id),
    ).fetchone()
    if row is None:
        return {"number": "", "code": "", "verify_url": "", "issued_on": None,
                "valid_until": None, "replaces": ""}  # fmt: skip
    number, code, issued_on, until = row
    code = shown(code) if code else ""
    return {
        "number": number,
        "code": code,
        "verify_url": config.settings.certificates.url_for(code) if code else "",
        "issued_on": date.fromisoformat(issued_on) if issued_on else None,
        "valid_until": date.fromisoformat(until) if until else None,
        "replaces": "",
    }


def valid_until(action: Any, course: Mapping[str, Any], tz: tzinfo) -> date | None:
    """The course's end date plus the action's `validity`, the last day it is valid; None
    without a validity."""
    from certify.decide.rules import valid_until as until

    validity = getattr(action, "validity", None)
    end = course.get("end")
    if validity is None or end is None:
        return None
    return until(end.astimezone(tz).date() if isinstance(end, datetime) else end, validity)


def _day(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, date) else None


def kept_certificate(context: Mapping[str, Any], pdf: bytes, locale: str) -> Kept:
    """What the register keeps of a rendered certificate: its PDF and what it prints."""
    person, course, certificate = context["person"], context["course"], context["certificate"]
    language = (person.get("language") or locale or "nl").replace("_", "-").split("-")[0].lower()
    return Kept(
        number=certificate["number"],
        code=read_code(certificate["code"]) or "",
        delivery_id=context["delivery"]["id"],
        action=context["action"]["id"],
        course_id=str(course["id"]),
        person_id=str(person["id"]),
        full_name=" ".join(str(person.get("full_name") or "").split()),
        course_name=str(course.get("name") or ""),
        course_start=_day(course.get("start")),
        course_end=_day(course.get("end")),
        language=language,
        issued_on=certificate["issued_on"].isoformat(),
        valid_until=_day(certificate.get("valid_until")),
        replaces=certificate.get("replaces") or None,
        pdf=pdf,
    )
