"""The requirement rules and the due moment. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Generic, Literal, Protocol, TypeVar

from certify.clock import CALENDAR_UNITS, add_offset, add_to_date, at_time_of_day, localize

ConditionValue = Literal["yes", "no", "not_met"]
# A registration moment: a datetime, or any value that sorts like one (stored UTC text does).
M = TypeVar("M", datetime, str)


def attendance_percentage(present: int, required: int) -> int:
    """`present × 100 / required`, rounded half up, in integers: (200·p + r) div (2·r)."""
    return (200 * present + required) // (2 * required)


def attendance_needed(required: int, threshold: int) -> int:
    """The smallest `present` whose rounded percentage reaches `threshold`.

    (200·p + r) div (2·r) >= t  ⟺  200·p + r >= 2·r·t  ⟺  p >= (2·r·t − r) / 200.
    """
    smallest = -(-(2 * required * threshold - required) // 200)  # ceiling division
    return min(max(smallest, 0), required)


def attendance_met(present: int, required_parts: int, needed: int) -> bool:
    """Met from counts: no required parts, or at least `needed` of them attended.

    `present` counts at most the required parts (rows of other parts do not count).
    """
    return required_parts == 0 or min(present, required_parts) >= needed


def pass_met(passed: int, required_parts: int) -> bool:
    """Met from counts: no part with a pass requirement, or a pass for every one of them."""
    return required_parts == 0 or passed >= required_parts


# The same two rules as one comparison with a per-course constant, for the planner's loop
# over every participant: `present >= attendance_minimum(...)` is `attendance_met(...)`.
UNREACHABLE = 1 << 62  # more present rows than any course has parts


def attendance_minimum(required_parts: int, needed: int) -> int:
    """The fewest present rows that meet attendance: 0 without required parts."""
    if required_parts == 0 or needed <= 0:
        return 0
    return needed if needed <= required_parts else UNREACHABLE


def pass_minimum(required_parts: int) -> int:
    """The fewest passes that meet the pass requirement: one per part that requires it."""
    return required_parts


@dataclass(frozen=True, slots=True)
class AttendanceFigures(Generic[M]):
    required_parts: int  # |R|; 0 means no attendance requirement
    present: int
    threshold: int
    needed: int
    percentage: int | None
    met: bool
    met_at: M | None  # registration of the needed-th present row; None: nothing to register


def attendance_figures(
    required_parts: int,
    present: int,
    threshold: int | None,
    needed: int | None = None,
    times: Sequence[M] | None = None,
) -> AttendanceFigures[M]:
    """`present`: the present rows counted; `times`, when known, their registration moments
    in any order (they only say *when* the requirement was met)."""
    pct = 100 if threshold is None else threshold
    if required_parts == 0:
        return AttendanceFigures(0, present, pct, 0, None, True, None)
    present = min(present, required_parts)
    if needed is None:
        needed = attendance_needed(required_parts, pct)
    met = attendance_met(present, required_parts, needed)
    met_at = sorted(times)[needed - 1] if met and needed > 0 and times else None
    return AttendanceFigures(
        required_parts,
        present,
        pct,
        needed,
        attendance_percentage(present, required_parts),
        met,
        met_at,
    )


@dataclass(frozen=True, slots=True)
class PassFigures(Generic[M]):
    required_parts: int  # |Q|
    passed: int
    met: bool
    met_at: M | None  # latest passed row of Q


def pass_figures(
    required_parts: int, passed: int, times: Sequence[M] | None = None
) -> PassFigures[M]:
    """`passed`: the `passed = yes` rows of Q; `times`, when known, their registrations."""
    if required_parts == 0:
        return PassFigures(0, 0, True, None)
    passed = min(passed, required_parts)
    met = pass_met(passed, required_parts)
    return PassFigures(required_parts, passed, met, max(times) if met and times else None)


def condition_holds(value: ConditionValue, met: bool) -> bool:
    if value == "yes":
        return met
    if value == "not_met":
        return not met
    return True


def requirements_met_at(
    attendance: AttendanceFigures[datetime],
    passing: PassFigures[datetime],
    check_attendance: ConditionValue,
    check_pass: ConditionValue,
    enrolled_at: datetime,
) -> datetime | None:
    """The latest moment among the requirements checked with `yes`; None while one is unmet."""
    moments: list[datetime] = []
    for value, met, at in (
        (check_attendance, attendance.met, attendance.met_at),
        (check_pass, passing.met, passing.met_at),
    ):
        if value != "yes":
            continue
        if not met:
            return None
        if at is not None:
            moments.append(at)
    return max(moments) if moments else enrolled_at


@dataclass(frozen=True)
class Timing:
    after: str
    offset: int
    unit: str
    at: time | None


def end_date_of(anchor: datetime, tz: tzinfo) -> date:
    """The day an `end` given as a date names, from the midnight after it that is stored.

    Half a day back lands on that day even when midnight fell in a gap and moved on.
    """
    return (anchor.astimezone(tz) - timedelta(hours=12)).date()


def due_moment(
    anchor: datetime, timing: Timing, tz: tzinfo, *, anchor_is_date: bool = False
) -> datetime:
    """`anchor + offset unit`, moved to `at` (next day if that falls before the anchor).

    With `anchor_is_date` (a course end given as a day, stored as the midnight after it)
    and a calendar unit, the offset counts from that day and `at` is the time on the day
    it gives: 1 day at 09:00 after 12 November is 13 November 09:00; without `at`, the
    end of that day. Hours still count from the midnight after the end date.
    """
    if anchor_is_date and timing.unit in CALENDAR_UNITS:
        day = add_to_date(end_date_of(anchor, tz), timing.offset, timing.unit)
        if timing.at is None:
            return localize(datetime.combine(day + timedelta(days=1), time()), tz)
        return localize(datetime.combine(day, timing.at), tz)
    moment = add_offset(anchor, timing.offset, timing.unit, tz)
    if timing.at is not None:
        moment = at_time_of_day(moment, timing.at, anchor, tz)
    return moment


class Span(Protocol):
    """An amount of calendar units, as actions.yaml's `validity: 1 year` gives it."""

    @property
    def amount(self) -> int: ...

    @property
    def unit(self) -> str: ...


def ends_keep_due_order(timing: Timing, *, timed_ends: bool, day_ends: bool) -> bool:
    """Do courses sorted by their stored end have their due moments in order too?

    Mostly yes, and planning finds a tick's courses by binary search on it. Not for months
    or years without `at` from a timed end (28 January 15:00 + 1 month is 28 February
    15:00, 31 January 10:00 + 1 month is 28 February 10:00), nor for a mix of day-only and
    timed ends in calendar units (a day counts from its date, a time from its moment).
    """
    if timed_ends and day_ends and timing.unit in CALENDAR_UNITS:
        return False
    return not (
        timed_ends and timing.unit in ("months", "years") and timing.at is None and timing.offset
    )


def valid_until(end_date: date, validity: Span) -> date:
    """The last day a certificate is valid: the course's end date plus its validity on the
    calendar (1 year after 29 February 2028 is 28 February 2029); valid through that day."""
    return add_to_date(end_date, validity.amount, validity.unit)


def is_expired(due_at: datetime, now: datetime, amount: int, unit: str, tz: tzinfo) -> bool:
    """Due longer ago than `amount unit` (calendar arithmetic, like offsets)."""
    return now > add_offset(due_at, amount, unit, tz)


__all__ = [
    "AttendanceFigures",
    "PassFigures",
    "Timing",
    "attendance_figures",
    "attendance_met",
    "attendance_minimum",
    "attendance_needed",
    "attendance_percentage",
    "condition_holds",
    "due_moment",
    "end_date_of",
    "ends_keep_due_order",
    "is_expired",
    "pass_figures",
    "pass_met",
    "pass_minimum",
    "requirements_met_at",
    "valid_until",
]
