from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certify.decide import rules

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.mark.parametrize(
    ("parts", "threshold", "needed"),
    [
        (4, 75, 3),  # 75 % exactly
        (3, 67, 2),  # 66.67 rounds to 67
        (8, 13, 1),  # 12.5 rounds (half up) to 13
        (4, 100, 4),
        (1, 100, 1),
        (5, 0, 0),
        (3, 66, 2),
        (3, 34, 2),  # 1 of 3 = 33.33 rounds to 33: not enough
        (2, 50, 1),
        (7, 50, 4),  # 3/7 = 42.86 → 43; 4/7 = 57.14 → 57
    ],
)
def test_needed_is_the_smallest_present_that_meets_the_threshold(
    parts: int, threshold: int, needed: int
) -> None:
    assert rules.attendance_needed(parts, threshold) == needed
    times = [at(i) for i in range(needed)]
    assert rules.attendance_figures(parts, len(times), threshold, times=times).met
    if needed:
        assert not rules.attendance_figures(parts, needed - 1, threshold).met


@pytest.mark.parametrize(
    ("present", "required", "percentage"),
    [
        (3, 4, 75),
        (2, 3, 67),
        (1, 3, 33),
        (1, 8, 13),
        (0, 5, 0),
        (5, 5, 100),
        (1, 2, 50),
        (1, 6, 17),
    ],
)
def test_percentage_rounds_half_up(present: int, required: int, percentage: int) -> None:
    assert rules.attendance_percentage(present, required) == percentage


@given(st.integers(1, 500), st.data())
def test_percentage_equals_exact_round_half_up(required: int, data: st.DataObject) -> None:
    present = data.draw(st.integers(0, required))
    exact = Fraction(present * 100, required)
    expected = int(exact + Fraction(1, 2))  # floor(x + 1/2): halves up, as SQL ROUND did
    assert rules.attendance_percentage(present, required) == expected


@given(st.integers(1, 200), st.integers(0, 100))
def test_needed_is_minimal(required: int, threshold: int) -> None:
    needed = rules.attendance_needed(required, threshold)
    assert rules.attendance_percentage(needed, required) >= threshold
    if needed > 0:
        assert rules.attendance_percentage(needed - 1, required) < threshold


@given(
    required=st.integers(0, 40),
    threshold=st.integers(0, 100),
    present=st.integers(0, 60),
    needed=st.one_of(st.none(), st.integers(-3, 45)),
)
def test_the_planners_minimum_present_is_attendance_met(
    required: int, threshold: int, present: int, needed: int | None
) -> None:
    """The planner compares each participant with one number per course: it must say what
    `attendance_met` says, also for a `needed` no course has (above the parts, negative)
    and more present rows than required parts (other parts counted under all_parts)."""
    if needed is None:
        needed = rules.attendance_needed(required, threshold)
    minimum = rules.attendance_minimum(required, needed)
    assert (present >= minimum) == rules.attendance_met(present, required, needed)


@given(required=st.integers(0, 12), passed=st.integers(0, 15))
def test_the_planners_minimum_passes_is_pass_met(required: int, passed: int) -> None:
    assert (passed >= rules.pass_minimum(required)) == rules.pass_met(passed, required)


def test_no_required_parts_is_always_met_whatever_the_attendance() -> None:
    figures = rules.attendance_figures(0, 0, 100)
    assert figures.met and figures.met_at is None and figures.needed == 0


def test_no_type_percentage_means_100() -> None:
    figures = rules.attendance_figures(4, 3, None)
    assert figures.threshold == 100 and not figures.met


def test_attendance_met_at_is_the_needed_th_registration_in_time_order() -> None:
    times = [at(30), at(10), at(20), at(40)]
    figures = rules.attendance_figures(4, len(times), 75, times=times)
    assert figures.met_at == at(30)  # 3rd in order of registration: 10, 20, 30


def test_threshold_zero_adds_no_moment() -> None:
    figures = rules.attendance_figures(4, 0, 0)
    assert figures.met and figures.met_at is None


def test_pass_requirement() -> None:
    assert rules.pass_figures(0, 0).met
    assert not rules.pass_figures(2, 1, [at(1)]).met
    both = rules.pass_figures(2, 2, [at(5), at(1)])
    assert both.met and both.met_at == at(5)  # the latest passed row


@pytest.mark.parametrize(
    ("value", "met", "holds"),
    [
        ("yes", True, True),
        ("yes", False, False),
        ("no", True, True),
        ("no", False, True),
        ("not_met", True, False),
        ("not_met", False, True),
    ],
)
def test_condition_values(value: rules.ConditionValue, met: bool, holds: bool) -> None:
    assert rules.condition_holds(value, met) is holds


def test_requirements_met_at_is_the_latest_of_the_checked_moments() -> None:
    attendance = rules.attendance_figures(2, 2, 100, times=[at(1), at(5)])
    passing = rules.pass_figures(1, 1, [at(3)])
    enrolled = at(-100)
    assert rules.requirements_met_at(attendance, passing, "yes", "yes", enrolled) == at(5)
    assert rules.requirements_met_at(attendance, passing, "no", "yes", enrolled) == at(3)
    # nothing with a moment: the enrollment time
    empty_att: rules.AttendanceFigures[datetime] = rules.attendance_figures(0, 0, 100)
    empty_pass: rules.PassFigures[datetime] = rules.pass_figures(0, 0)
    assert rules.requirements_met_at(empty_att, empty_pass, "yes", "yes", enrolled) == enrolled
    # unmet: no moment at all
    unmet = rules.pass_figures(2, 1, [at(3)])
    assert rules.requirements_met_at(attendance, unmet, "yes", "yes", enrolled) is None


def test_due_moment_with_at_and_next_day_rule() -> None:
    anchor = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)  # 17:00 in Amsterdam
    timing = rules.Timing("course_end", 0, "days", time(9, 0))
    due = rules.due_moment(anchor, timing, AMS)
    assert due.astimezone(AMS).strftime("%Y-%m-%d %H:%M") == "2026-11-06 09:00"
    timing = rules.Timing("course_end", 2, "hours", None)
    assert rules.due_moment(anchor, timing, AMS) == anchor + timedelta(hours=2)


def test_expiry_uses_calendar_units() -> None:
    due = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
    assert not rules.is_expired(due, datetime(2026, 2, 28, 8, 0, tzinfo=UTC), 1, "months", AMS)
    assert rules.is_expired(due, datetime(2026, 2, 28, 8, 1, tzinfo=UTC), 1, "months", AMS)


@given(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    st.integers(0, 60 * 24 * 40),
    st.integers(0, 3),
    st.sampled_from(["hours", "days", "weeks", "months", "years"]),
    st.one_of(st.none(), st.times()),
    st.booleans(),
)
def test_due_moment_never_decreases_as_the_anchor_grows(
    start: datetime,
    minutes_later: int,
    offset: int,
    unit: str,
    at: time | None,
    day_ends: bool,
) -> None:
    """Planning decides whole courses by binary search on this property, where
    `ends_keep_due_order` says it holds (and sorts by due moment where not)."""
    at = at.replace(microsecond=0, second=0) if at else None
    timing = rules.Timing("course_end", offset, unit, at)
    if day_ends:  # every end a day, stored as the midnight after it
        first = datetime.combine(start.date(), time(), tzinfo=AMS)
        second = first + timedelta(days=minutes_later // (60 * 24))
        second = datetime.combine(second.date(), time(), tzinfo=AMS)
    else:
        first = start.replace(tzinfo=UTC)
        second = first + timedelta(minutes=minutes_later)
    if not rules.ends_keep_due_order(timing, timed_ends=not day_ends, day_ends=day_ends):
        return
    early = rules.due_moment(first, timing, AMS, anchor_is_date=day_ends)
    assert early <= rules.due_moment(second, timing, AMS, anchor_is_date=day_ends)


def test_month_ends_put_due_moments_out_of_the_order_of_timed_ends() -> None:
    """Why planning sorts by due moment for months without `at`."""
    timing = rules.Timing("course_end", 1, "months", None)
    assert not rules.ends_keep_due_order(timing, timed_ends=True, day_ends=False)
    earlier = rules.due_moment(datetime(2025, 1, 28, 15, tzinfo=AMS), timing, AMS)
    later = rules.due_moment(datetime(2025, 1, 31, 10, tzinfo=AMS), timing, AMS)
    assert later < earlier
    with_at = rules.Timing("course_end", 1, "months", time(9))
    assert rules.ends_keep_due_order(with_at, timed_ends=True, day_ends=False)
    assert rules.ends_keep_due_order(timing, timed_ends=False, day_ends=True)
    assert not rules.ends_keep_due_order(with_at, timed_ends=True, day_ends=True)


def _end_of(day: date) -> datetime:
    """A course end exported as a day, stored as the midnight after it."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=AMS)


@pytest.mark.parametrize(
    ("end", "offset", "unit", "at_", "due"),
    [
        # "1 day after course end, at 09:00" is the next morning, not the morning after
        (date(2026, 11, 12), 1, "days", time(9), datetime(2026, 11, 13, 9)),
        (date(2026, 11, 12), 0, "days", time(17), datetime(2026, 11, 12, 17)),
        # without `at`: the end of the day the offset gives, as before
        (date(2026, 11, 12), 1, "days", None, datetime(2026, 11, 14, 0)),
        (date(2026, 11, 12), 2, "weeks", time(9), datetime(2026, 11, 26, 9)),
        # month ends: 31 January + 1 month is the last day of February
        (date(2026, 1, 31), 1, "months", time(9), datetime(2026, 2, 28, 9)),
        (date(2028, 1, 31), 1, "months", time(9), datetime(2028, 2, 29, 9)),
        (date(2026, 1, 30), 1, "months", None, datetime(2026, 3, 1, 0)),
        # years from 29 February: 28 February of a year without one
        (date(2028, 2, 29), 1, "years", time(9), datetime(2029, 2, 28, 9)),
        (date(2028, 2, 29), 4, "years", time(9), datetime(2032, 2, 29, 9)),
        # across the spring change: 09:00 stays 09:00 on the wall clock
        (date(2026, 3, 28), 1, "days", time(9), datetime(2026, 3, 29, 9)),
        # a time in the spring gap is the first minute after it
        (date(2026, 3, 28), 1, "days", time(2, 30), datetime(2026, 3, 29, 3, 0)),
        # across the autumn change: 17:00 stays 17:00
        (date(2026, 10, 24), 1, "days", time(17), datetime(2026, 10, 25, 17)),
        (date(2026, 10, 24), 1, "weeks", time(9), datetime(2026, 10, 31, 9)),
    ],
)
def test_a_day_only_end_counts_from_that_day(
    end: date, offset: int, unit: str, at_: time | None, due: datetime
) -> None:
    timing = rules.Timing("course_end", offset, unit, at_)
    moment = rules.due_moment(_end_of(end), timing, AMS, anchor_is_date=True)
    assert moment.astimezone(AMS).replace(tzinfo=None) == due


def test_the_wall_clock_time_holds_across_daylight_saving() -> None:
    timing = rules.Timing("course_end", 1, "days", time(9))
    before = rules.due_moment(_end_of(date(2026, 10, 23)), timing, AMS, anchor_is_date=True)
    after = rules.due_moment(_end_of(date(2026, 10, 25)), timing, AMS, anchor_is_date=True)
    assert before.utcoffset() == timedelta(hours=2)  # CEST
    assert after.utcoffset() == timedelta(hours=1)  # CET
    assert before.astimezone(AMS).hour == after.astimezone(AMS).hour == 9


def test_hours_count_from_the_end_of_a_day_only_end() -> None:
    timing = rules.Timing("course_end", 6, "hours", None)
    moment = rules.due_moment(_end_of(date(2026, 11, 12)), timing, AMS, anchor_is_date=True)
    assert moment.astimezone(AMS).replace(tzinfo=None) == datetime(2026, 11, 13, 6)


def test_an_end_with_a_time_is_unchanged() -> None:
    timing = rules.Timing("course_end", 1, "days", time(9))
    end = datetime(2026, 11, 12, 16, 0, tzinfo=AMS)
    assert rules.due_moment(end, timing, AMS) == datetime(2026, 11, 13, 9, tzinfo=AMS)
    midnight = datetime(2026, 11, 13, 0, 0, tzinfo=AMS)  # a time written as 00:00
    assert rules.due_moment(midnight, timing, AMS) == datetime(2026, 11, 14, 9, tzinfo=AMS)


class _Validity:
    def __init__(self, amount: int, unit: str) -> None:
        self.amount, self.unit = amount, unit


@pytest.mark.parametrize(
    ("end", "amount", "unit", "until"),
    [
        (date(2026, 11, 12), 1, "years", date(2027, 11, 12)),
        (date(2028, 2, 29), 1, "years", date(2029, 2, 28)),
        (date(2026, 8, 31), 6, "months", date(2027, 2, 28)),
        (date(2026, 11, 12), 30, "days", date(2026, 12, 12)),
        (date(2026, 11, 12), 4, "weeks", date(2026, 12, 10)),
    ],
)
def test_valid_until_is_calendar_arithmetic(end: date, amount: int, unit: str, until: date) -> None:
    assert rules.valid_until(end, _Validity(amount, unit)) == until


def test_expiry_in_years() -> None:
    due = datetime(2028, 2, 29, 9, tzinfo=AMS)
    assert not rules.is_expired(due, datetime(2029, 2, 28, 9, tzinfo=AMS), 1, "years", AMS)
    assert rules.is_expired(due, datetime(2029, 2, 28, 9, 1, tzinfo=AMS), 1, "years", AMS)
