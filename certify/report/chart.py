"""The report's chart: deliveries sent per week, laid out for an inline SVG."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_datetime

from certify.inspect.history import History
from certify.report.clock import ReportClock

CHART_WEEKS = 12


@dataclass(frozen=True)
class Bar:
    """One week's bar of the chart, in SVG units."""

    x: float
    y: float
    width: float
    height: float
    count: int
    week: str
    monday: str


@dataclass(frozen=True)
class Chart:
    """Deliveries sent per week, laid out for an inline SVG."""

    bars: list[Bar]
    width: int
    height: int
    baseline: float
    gridlines: list[tuple[float, int]]
    total: int
    first: str
    last: str


def sent_per_week(log: History, now: datetime, clock: ReportClock) -> Chart:
    """Deliveries sent per ISO week (Monday to Sunday, local), the last 12 weeks to now."""
    today = clock.local(now).date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(CHART_WEEKS - 1, -1, -1)]
    tz = clock.tz
    start = datetime(mondays[0].year, mondays[0].month, mondays[0].day, tzinfo=tz)
    end = datetime(this_monday.year, this_monday.month, this_monday.day, tzinfo=tz) + timedelta(
        weeks=1
    )
    per_week: Counter[Any] = Counter()
    # the chart ends at the report's moment, what was sent at that very second included
    for sent in log.sent_between(start, min(end, now + timedelta(seconds=1))):
        day = clock.local(sent).date()
        per_week[day - timedelta(days=day.weekday())] += 1
    width, height, left, top, bottom = 720, 240, 40, 24, 44
    plot = height - top - bottom
    scale_top, steps = axis(max(per_week.values(), default=0))
    slot = (width - left - 8) / CHART_WEEKS
    bars = []
    for index, monday in enumerate(mondays):
        count = per_week[monday]
        bar_height = plot * count / scale_top
        bars.append(
            Bar(
                x=round(left + index * slot + slot * 0.15, 1),
                y=round(top + plot - bar_height, 1),
                width=round(slot * 0.7, 1),
                height=round(bar_height, 1),
                count=count,
                week=f"W{monday.isocalendar().week}",
                monday=format_datetime(
                    datetime(monday.year, monday.month, monday.day), "d MMM", locale=clock.locale
                ),
            )
        )
    gridlines = [(round(top + plot - plot * value / scale_top, 1), value) for value in steps]
    return Chart(
        bars=bars,
        width=width,
        height=height,
        baseline=top + plot,
        gridlines=gridlines,
        total=sum(per_week.values()),
        first=bars[0].monday,
        last=clock.day(now),
    )


def axis(peak: int) -> tuple[int, list[int]]:
    """The axis top and its gridlines: at most 5 steps of 1, 2 or 5 times a power of ten."""
    if peak <= 0:
        return 1, [1]
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            steps = -(-peak // step)  # ceiling division
            if steps <= 5:
                return steps * step, [step * n for n in range(1, steps + 1)]
        magnitude *= 10
