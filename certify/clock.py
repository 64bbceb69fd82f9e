"""Reading dates and times the way administrators write them, and wall-clock arithmetic.

Every moment is stored as UTC text `YYYY-MM-DDTHH:MM:SSZ`, which sorts like time.
"""

from __future__ import annotations

import calendar
import os
import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from certify.locale import _

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_ISO = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_DAY_FIRST = re.compile(
    r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})"
    r"(?:[T ]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)


class DateFormatError(ValueError):
    pass


def to_utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def from_utc_text(text: str) -> datetime:
    # stored moments have one fixed form; fromisoformat reads it (and its Z) in C
    return datetime.fromisoformat(text)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateFormatError(
            _("unknown time zone {name} (an IANA name such as Europe/Amsterdam)").format(
                name=repr(name)
            )
        ) from exc


def machine_zone() -> tzinfo:
    """The machine's zone by IANA name, so that daylight saving rules apply; UTC if unknown."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text().strip())
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """Attach `tz` to a naive wall-clock time.

    A time that exists twice (autumn) is its first occurrence; a time that does not exist
    (the spring gap) becomes the first minute after the gap (02:30 -> 03:00).
    """
    aware = wall.replace(tzinfo=tz, fold=0)
    if _exists(aware):
        return aware
    probe = wall.replace(second=0, microsecond=0)
    for _minute in range(24 * 60):
        probe += timedelta(minutes=1)
        candidate = probe.replace(tzinfo=tz, fold=0)
        if _exists(candidate):
            return candidate
    return aware  # no gap is a day long; unreachable in practice


def _exists(aware: datetime) -> bool:
    back = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return back.replace(tzinfo=None, fold=0) == aware.replace(tzinfo=None, fold=0)


def _no_such_day(year: int, month: int, day: int) -> str:
    """Why a written day is no day, in the reader's words (Python's are English)."""
    if not 1 <= month <= 12:
        return _("there is no month {month}").format(month=month)
    days = calendar.monthrange(year, month)[1]
    return _("month {month} of {year} has {days} days, not {day}").format(
        month=month, year=year, days=days, day=day
    )


def _read(text: str, *, end_of_day: bool = False) -> tuple[datetime, bool, tzinfo | None]:
    """(wall clock, whether a time of day was written, the written offset or None)."""
    value = text.strip()
    match = _ISO.match(value) or _DAY_FIRST.match(value)
    if match is None:
        raise DateFormatError(
            _(
                "cannot read {value} as a date (use 2026-11-05, 05-11-2026 or 2026-11-05 17:00)"
            ).format(value=repr(text))
        )
    parts = match.groupdict()
    try:
        day = date(int(parts["y"]), int(parts["m"]), int(parts["d"]))
    except ValueError as exc:
        raise DateFormatError(
            _("cannot read {value} as a date ({reason})").format(
                value=repr(text),
                reason=_month_first(match, value)
                or _no_such_day(*map(int, (parts["y"], parts["m"], parts["d"]))),
            )
        ) from exc
    try:
        if parts["H"] is None:
            wall = datetime.combine(day, time())
            if end_of_day:
                wall += timedelta(days=1)
        else:
            wall = datetime.combine(
                day, time(int(parts["H"]), int(parts["M"]), int(parts["S"] or 0))
            )
    except ValueError as exc:
        raise DateFormatError(
            _("cannot read {value} as a date ({reason})").format(
                value=repr(text), reason=_("there is no such time of day")
            )
        ) from exc
    offset = parts.get("tz")
    if not offset:
        return wall, parts["H"] is not None, None
    if offset == "Z":
        return wall, True, UTC
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return wall, True, _fixed(sign * delta)


def _month_first(match: re.Match[str], value: str) -> str | None:
    """Why a day-first date with no such month may be month first, and what it then is."""
    if match.re is not _DAY_FIRST:
        return None
    day, month, year = int(match["d"]), int(match["m"]), int(match["y"])
    try:
        date(year, day, month)
    except ValueError:
        return None
    rest = value[match.end("y") :]
    return _(
        "dates are read day first, and there is no month {month}; if the month comes first, "
        "it is {meant}, and the other month-first dates of the file are read wrongly too: "
        "export dates day first"
    ).format(month=month, meant=f"{month:02d}-{day:02d}-{year}{rest}")


# month and weekday names as administrators copy them from Excel, Dutch and English, full
# and abbreviated (compared in lower case, without a final '.')
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "januari january jan",
            "februari february feb",
            "maart march mrt mar",
            "april apr",
            "mei may",
            "juni june jun",
            "juli july jul",
            "augustus august aug",
            "september sep sept",
            "oktober october okt oct",
            "november nov",
            "december dec",
        ),
        start=1,
    )
    for name in names.split()
}
_DUTCH_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_ENGLISH_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# a weekday's written name → (its number, whether it is Dutch: a mismatch is said in kind)
_WEEKDAYS = {
    **{
        name: (number, True)
        for number, names in enumerate(("ma", "di", "wo", "do", "vr", "za", "zo"))
        for name in (names, _DUTCH_DAYS[number])
    },
    **{
        name: (number, False)
        for number, names in enumerate(
            ("mon", "tue tues", "wed", "thu thur thurs", "fri", "sat", "sun")
        )
        for name in (*names.split(), _ENGLISH_DAYS[number].lower())
    },
}
_WORD = r"[^\W\d_]+"
_NAMED = re.compile(
    rf"^(?:(?P<weekday>{_WORD})\.?,?\s+)?"
    rf"(?:(?P<d>\d{{1,2}})[\s./-]*(?P<month>{_WORD})"
    rf"|(?P<month_first>{_WORD})\.?[\s./-]*(?P<day_after>\d{{1,2}})(?:st|nd|rd|th)?,?)"
    r"\.?[\s./-]*(?P<y>\d{4})"
    r"(?P<time>[T\s]+\d{1,2}:\d{2}(?::\d{2})?)?$"
)


def numeric_date(text: str) -> str | None:
    """The day-first form (`12-11-2026 09:30`) of a date written with a month name, Dutch or
    English, in any case: `12 november 2026`, `12-nov-2026 09:30`, `maandag 12 nov. 2026`,
    `Thursday, November 12, 2026`. None when `text` is not written so.

    A month name no language here has, an impossible date, or a weekday that is not the
    date's, is a DateFormatError: a date copied by hand with a slip is not guessed at.
    """
    match = _NAMED.match(text.strip())
    if match is None:
        return None
    month_word = (match["month"] or match["month_first"]).lower().rstrip(".")
    month = _MONTHS.get(month_word)
    if month is None:
        raise DateFormatError(
            _(
                "cannot read {value} as a date ({word} is not a month; Dutch or English names "
                "are read, such as 12 november 2026 or 12 nov 2026)"
            ).format(value=repr(text), word=repr(month_word))
        )
    day, year = int(match["d"] or match["day_after"]), int(match["y"])
    try:
        written = date(year, month, day)
    except ValueError:
        raise DateFormatError(
            _("cannot read {value} as a date ({reason})").format(
                value=repr(text), reason=_no_such_day(year, month, day)
            )
        ) from None
    if match["weekday"]:
        weekday = _WEEKDAYS.get(match["weekday"].lower().rstrip("."))
        if weekday is None:
            raise DateFormatError(
                _("cannot read {value} as a date ({word} is not a day of the week)").format(
                    value=repr(text), word=repr(match["weekday"])
                )
            )
        number, dutch = weekday
        if number != written.weekday():
            actual = (_DUTCH_DAYS if dutch else _ENGLISH_DAYS)[written.weekday()]
            raise DateFormatError(
                _(
                    "cannot read {value} as a date ({day} is a {actual}, not a {written}; "
                    "which is meant?)"
                ).format(
                    value=repr(text),
                    day=f"{day:02d}-{month:02d}-{year}",
                    actual=actual,
                    written=match["weekday"],
                )
            )
    return f"{day:02d}-{month:02d}-{year}{match['time'] or ''}"


@lru_cache(maxsize=65536)
def parse_moment(text: str, tz: tzinfo, *, end_of_day: bool = False) -> datetime:
    """Read an ISO 8601 or day-first date/time; a value without offset is local in `tz`.

    With or without seconds, `T` or a space: only a written offset (`Z`, `+01:00`) makes
    a value anything but local. With `end_of_day`, a bare date means "some time that
    day": 00:00 the next day.
    """
    wall, _, offset = _read(text, end_of_day=end_of_day)
    if offset is not None:
        return wall.replace(tzinfo=offset).astimezone(UTC)
    hour_offset = _regular_hour_offset(tz, wall.year, wall.month, wall.day, wall.hour)
    if hour_offset is not None:
        return (wall - hour_offset).replace(tzinfo=UTC)
    return localize(wall, tz).astimezone(UTC)


def parse_written(text: str) -> date | datetime:
    """A date/time as written, for a zone chosen later: a date, a naive wall-clock time,
    or (only with a written offset) an aware moment."""
    wall, has_time, offset = _read(text)
    if offset is not None:
        return wall.replace(tzinfo=offset)
    return wall if has_time else wall.date()


@lru_cache(maxsize=65536)
def _regular_hour_offset(
    tz: tzinfo, year: int, month: int, day: int, hour: int
) -> timedelta | None:
    """The UTC offset of a local hour in which nothing changes; None around a transition.

    Exports repeat the same days and hours endlessly; this spares the full conversion for
    every minute of them, and leaves gaps and folds to `localize`.
    """
    start = datetime(year, month, day, hour)
    end = start.replace(minute=59, second=59)
    first, last = localize(start, tz), localize(end, tz)
    if first.replace(tzinfo=None) != start or last.replace(tzinfo=None) != end:
        return None  # in or next to a gap
    if first.utcoffset() != last.utcoffset():
        return None
    if end.replace(tzinfo=tz, fold=1).utcoffset() != last.utcoffset():
        return None  # an hour that happens twice
    return first.utcoffset()


def _fixed(delta: timedelta) -> tzinfo:
    from datetime import timezone

    return timezone(delta)


UNITS = ("hours", "days", "weeks", "months", "years")
# the units that count on the calendar: a date plus one of them is a date
CALENDAR_UNITS = ("days", "weeks", "months", "years")


def add_to_date(day: date, offset: int, unit: str) -> date:
    """`day + offset unit` on the calendar (31 January + 1 month = 28/29 February,
    29 February + 1 year = 28 February)."""
    if unit == "days":
        return day + timedelta(days=offset)
    if unit == "weeks":
        return day + timedelta(weeks=offset)
    if unit == "months":
        return day + relativedelta(months=offset)
    if unit == "years":
        return day + relativedelta(years=offset)
    raise ValueError(f"unknown unit {unit!r}")


def add_offset(anchor: datetime, offset: int, unit: str, tz: tzinfo) -> datetime:
    """`anchor + offset unit`: hours are elapsed time, the rest calendar arithmetic on the wall clock."""
    if unit == "hours":
        return (anchor.astimezone(UTC) + timedelta(hours=offset)).astimezone(tz)
    wall = anchor.astimezone(tz).replace(tzinfo=None)
    # on a naive wall clock, days and weeks are exact; months need calendar rules
    if unit == "days":
        wall += timedelta(days=offset)
    elif unit == "weeks":
        wall += timedelta(weeks=offset)
    elif unit == "months":
        wall += relativedelta(months=offset)
    elif unit == "years":
        wall += relativedelta(years=offset)
    else:
        raise ValueError(f"unknown unit {unit!r}")
    return localize(wall, tz)


def at_time_of_day(moment: datetime, at: time, anchor: datetime, tz: tzinfo) -> datetime:
    """Move `moment` to `at` on its local date; if that falls before `anchor`, the next day."""
    local_date = moment.astimezone(tz).date()
    candidate = localize(datetime.combine(local_date, at), tz)
    if candidate < anchor:
        candidate = localize(datetime.combine(local_date + timedelta(days=1), at), tz)
    return candidate
