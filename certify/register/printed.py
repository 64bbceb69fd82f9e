"""What a certificate prints of itself: number, code, verification URL and dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from certify.register.codes import read_code
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
