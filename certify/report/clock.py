"""The report's clock: every moment on the page in the manager's zone and language."""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_datetime

from certify import locale


def date_locale() -> str:
    """The Babel locale the page's dates are written in: the language the page speaks."""
    return "nl_NL" if locale.language() == "nl" else "en_GB"


class ReportClock:
    """Formats moments in the configured zone and the page's language, the same way everywhere."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self.locale = date_locale()
        # thousands of participants share a handful of due and sending moments
        self._formatted: dict[tuple[datetime, str], str] = {}

    def local(self, moment: datetime) -> datetime:
        """The moment in the manager's zone."""
        return moment.astimezone(self.tz)

    def _format(self, moment: datetime, pattern: str) -> str:
        key = (moment, pattern)
        text = self._formatted.get(key)
        if text is None:
            text = self._formatted[key] = format_datetime(
                self.local(moment), pattern, locale=self.locale
            )
        return text

    def day(self, moment: datetime) -> str:
        """A day, as `Thu 5 Nov`."""
        return self._format(moment, "EEE d MMM")

    def day_year(self, moment: datetime) -> str:
        """A day with its year, as `5 Nov 2026`."""
        return self._format(moment, "d MMM y")

    def moment(self, moment: datetime) -> str:
        """A moment, as `Fri 6 Nov, 09:00`."""
        return self._format(moment, "EEE d MMM, HH:mm")

    def full(self, moment: datetime) -> str:
        """A moment in full, with its zone, as on the page's heading."""
        return self._format(moment, "EEEE d MMMM y, HH:mm zzz")

    def span(self, start: datetime | None, end: datetime) -> str:
        """The days of a course, as `3 Nov – 5 Nov 2026` (one day: that day alone)."""
        first, last = (self.local(start) if start else None), self.local(end)
        if first is None or first.date() == last.date():
            return self.day_year(end)
        if first.year != last.year:
            return f"{self.day_year(first)} – {self.day_year(last)}"
        return f"{self._format(first, 'd MMM')} – {self.day_year(last)}"
