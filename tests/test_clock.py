from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from certify.clock import (
    DateFormatError,
    add_offset,
    at_time_of_day,
    localize,
    numeric_date,
    parse_moment,
    parse_written,
    to_utc_text,
)

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        ("2026-11-05", "2026-11-04T23:00:00Z"),  # 5 November, not 11 May
        ("05-11-2026", "2026-11-04T23:00:00Z"),
        ("5/11/2026", "2026-11-04T23:00:00Z"),
        ("5.11.2026", "2026-11-04T23:00:00Z"),
        ("2026-11-05 17:00", "2026-11-05T16:00:00Z"),
        ("5/11/2026 09:30", "2026-11-05T08:30:00Z"),
        ("2026-11-05T17:00:00+01:00", "2026-11-05T16:00:00Z"),
        ("2026-11-05T17:00:00Z", "2026-11-05T17:00:00Z"),
        ("2026-07-01 12:00", "2026-07-01T10:00:00Z"),  # summer time: +02:00
        (" 2026-11-05 ", "2026-11-04T23:00:00Z"),
    ],
)
def test_reads_iso_and_day_first_dates(text: str, expected_utc: str) -> None:
    assert to_utc_text(parse_moment(text, AMS)) == expected_utc


@pytest.mark.parametrize(
    ("text", "expected_utc"),
    [
        # without seconds or offset a value is local, exactly like one with seconds
        ("2026-03-29 09:00", "2026-03-29T07:00:00Z"),  # summer time began at 02:00
        ("2026-03-29 09:00:00", "2026-03-29T07:00:00Z"),
        ("2026-03-29T09:00", "2026-03-29T07:00:00Z"),
        ("29-03-2026 09:00", "2026-03-29T07:00:00Z"),
        ("2026-03-28 09:00", "2026-03-28T08:00:00Z"),  # the day before: winter time
        ("2026-03-29 02:30", "2026-03-29T01:00:00Z"),  # in the gap: 03:00 summer time
        ("2026-10-25 02:30", "2026-10-25T00:30:00Z"),  # twice that night: the first
        ("2026-03-29T09:00Z", "2026-03-29T09:00:00Z"),
        ("2026-03-29 09:00+01:00", "2026-03-29T08:00:00Z"),
    ],
)
def test_a_value_without_seconds_is_local_like_one_with(text: str, expected_utc: str) -> None:
    assert to_utc_text(parse_moment(text, AMS)) == expected_utc


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("2026-11-19", date(2026, 11, 19)),
        ("19-11-2026", date(2026, 11, 19)),
        ("2026-11-19 09:00", datetime(2026, 11, 19, 9, 0)),
        ("2026-11-19 09:00:30", datetime(2026, 11, 19, 9, 0, 30)),
        ("19/11/2026 09:00", datetime(2026, 11, 19, 9, 0)),
        ("2026-11-19T09:00Z", datetime(2026, 11, 19, 9, 0, tzinfo=UTC)),
        (
            "2026-11-19T09:00+01:00",
            datetime(2026, 11, 19, 9, 0, tzinfo=timezone(timedelta(hours=1))),
        ),
    ],
)
def test_parse_written_keeps_the_wall_clock_for_a_zone_chosen_later(
    text: str, written: date
) -> None:
    value = parse_written(text)
    assert value == written and type(value) is type(written)
    if isinstance(value, datetime):
        assert (value.tzinfo is None) == (written.tzinfo is None)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "text", ["31-02-2026", "2026-02-30", "13/13/2026", "tomorrow", "05-11-26", ""]
)
def test_impossible_or_unknown_dates_are_refused(text: str) -> None:
    with pytest.raises(DateFormatError, match="cannot read"):
        parse_moment(text, AMS)


def test_end_date_without_time_is_the_end_of_that_day() -> None:
    assert to_utc_text(parse_moment("05-11-2026", AMS, end_of_day=True)) == "2026-11-05T23:00:00Z"
    # a time given is taken as it is
    assert (
        to_utc_text(parse_moment("05-11-2026 17:00", AMS, end_of_day=True))
        == "2026-11-05T16:00:00Z"
    )


def test_spring_gap_moves_to_the_first_minute_after_it() -> None:
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST in Amsterdam
    moment = localize(datetime(2026, 3, 29, 2, 30), AMS)
    assert moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert moment.astimezone(AMS).strftime("%H:%M") == "03:00"


def test_autumn_fold_is_the_first_occurrence() -> None:
    # 25 October 2026: 02:30 happens twice; the first is still summer time (+02:00)
    moment = localize(datetime(2026, 10, 25, 2, 30), AMS)
    assert moment.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "offset", "unit", "expected_local"),
    [
        (datetime(2026, 1, 31, 17, 0), 1, "months", "2026-02-28 17:00"),
        (datetime(2028, 1, 31, 17, 0), 1, "months", "2028-02-29 17:00"),  # leap year
        (datetime(2026, 3, 31, 9, 0), 1, "months", "2026-04-30 09:00"),
        (datetime(2026, 12, 31, 9, 0), 2, "months", "2027-02-28 09:00"),
        (datetime(2026, 3, 28, 17, 0), 1, "days", "2026-03-29 17:00"),  # across spring DST
        (datetime(2026, 10, 24, 17, 0), 1, "days", "2026-10-25 17:00"),  # across autumn DST
        (datetime(2026, 10, 24, 17, 0), 1, "weeks", "2026-10-31 17:00"),
        (datetime(2026, 3, 28, 17, 0), 24, "hours", "2026-03-29 18:00"),  # elapsed: 23 h day
        (datetime(2026, 10, 24, 17, 0), 24, "hours", "2026-10-25 16:00"),  # elapsed: 25 h day
        (datetime(2026, 3, 28, 2, 30), 1, "days", "2026-03-29 03:00"),  # lands in the gap
        (datetime(2026, 11, 5, 17, 0), 0, "days", "2026-11-05 17:00"),
    ],
)
def test_offsets_use_the_wall_clock_except_hours(
    anchor: datetime, offset: int, unit: str, expected_local: str
) -> None:
    result = add_offset(localize(anchor, AMS), offset, unit, AMS)
    assert result.astimezone(AMS).strftime("%Y-%m-%d %H:%M") == expected_local


def test_at_moves_to_time_of_day_or_the_next_day_when_before_the_anchor() -> None:
    anchor = localize(datetime(2026, 11, 5, 17, 0), AMS)
    same_day = at_time_of_day(anchor, time(9, 0), anchor, AMS)
    assert same_day.astimezone(AMS).strftime("%Y-%m-%d %H:%M") == "2026-11-06 09:00"
    later = at_time_of_day(anchor, time(18, 0), anchor, AMS)
    assert later.astimezone(AMS).strftime("%Y-%m-%d %H:%M") == "2026-11-05 18:00"


def test_at_inside_the_spring_gap() -> None:
    anchor = localize(datetime(2026, 3, 28, 12, 0), AMS)
    moment = add_offset(anchor, 1, "days", AMS)
    result = at_time_of_day(moment, time(2, 30), anchor, AMS)
    assert result.astimezone(AMS).strftime("%Y-%m-%d %H:%M") == "2026-03-29 03:00"


@pytest.mark.parametrize(
    ("zone_name", "days"),
    [
        ("Europe/Amsterdam", ["2026-03-29", "2026-10-25"]),
        ("America/New_York", ["2026-03-08", "2026-11-01"]),
        ("Australia/Lord_Howe", ["2026-04-05", "2026-10-04"]),  # a half-hour shift
    ],
)
def test_reading_local_times_agrees_with_localize_every_minute_of_a_clock_change(
    zone_name: str, days: list[str]
) -> None:
    """Reading remembers offsets per hour; around a change it must still be exact."""
    tz = ZoneInfo(zone_name)
    for day in days:
        start = datetime.fromisoformat(day) - timedelta(hours=3)
        for minute in range(0, 30 * 60, 1):
            wall = start + timedelta(minutes=minute)
            text = wall.strftime("%Y-%m-%d %H:%M")
            assert parse_moment(text, tz) == localize(wall, tz).astimezone(UTC), text


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("11/25/2026", "25-11-2026"),
        ("12-31-2026 09:30", "31-12-2026 09:30"),
    ],
)
def test_a_month_first_date_says_dates_are_day_first_and_what_it_would_be(
    text: str, suggested: str
) -> None:
    with pytest.raises(DateFormatError) as failure:
        parse_moment(text, AMS)
    message = str(failure.value)
    assert message.startswith(f"cannot read {text!r} as a date (dates are read day first")
    assert f"if the month comes first, it is {suggested}," in message


def test_an_impossible_date_either_way_gets_no_suggestion() -> None:
    with pytest.raises(
        DateFormatError, match=r"^cannot read '13/13/2026' as a date \(there is no month 13\)$"
    ):
        parse_moment("13/13/2026", AMS)


@pytest.mark.parametrize(
    ("text", "numeric"),
    [
        ("12 november 2026", "12-11-2026"),
        ("12 November 2026", "12-11-2026"),
        ("12 NOV 2026", "12-11-2026"),
        ("12 nov. 2026", "12-11-2026"),
        ("12-nov-2026", "12-11-2026"),  # Excel's d-mmm-yyyy
        ("1 mei 2026", "01-05-2026"),
        ("3 mrt 2026", "03-03-2026"),
        ("3 maart 2026", "03-03-2026"),
        ("15 okt 2026", "15-10-2026"),
        ("15 oct 2026", "15-10-2026"),
        ("donderdag 12 november 2026", "12-11-2026"),  # Excel's long date in Dutch
        ("do 12 nov 2026", "12-11-2026"),
        ("Thursday, November 12, 2026", "12-11-2026"),  # and in English (US)
        ("November 12, 2026", "12-11-2026"),
        ("12 November 2026 09:30", "12-11-2026 09:30"),
        ("2026-11-12", None),
        ("12-11-2026", None),
        ("tomorrow", None),
        ("12 november 26", None),  # a year of two digits is not guessed at
    ],
)
def test_dates_with_dutch_or_english_month_names(text: str, numeric: str | None) -> None:
    assert numeric_date(text) == numeric


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("maandag 12 november 2026", "12-11-2026 is a donderdag, not a maandag; which is meant?"),
        ("Monday, November 12, 2026", "12-11-2026 is a Thursday, not a Monday"),
        ("12 novembre 2026", "'novembre' is not a month"),
        ("31 februari 2026", "month 2 of 2026 has 28 days, not 31"),
        ("gisteren 12 nov 2026", "'gisteren' is not a day of the week"),
    ],
)
def test_a_named_date_with_a_slip_is_refused_not_guessed(text: str, problem: str) -> None:
    with pytest.raises(DateFormatError) as failure:
        numeric_date(text)
    assert str(failure.value).startswith(f"cannot read {text!r} as a date (")
    assert problem in str(failure.value)
