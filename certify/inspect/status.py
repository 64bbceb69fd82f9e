"""`certify status`: is cron still running, and does anything need the administrator?

For a monitoring check: exit 0 when nothing needs attention, the last run succeeded (or is
still running) and the last successful run is younger than the maximum age, else 3, with
the reasons. A successful run did its work and the mail server took messages (see
`RunRecord.successful`): one greylisted recipient is the attention list's business.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certify.clock import to_utc_text
from certify.deliver import runs
from certify.deliver.runs import RunRecord
from certify.errors import EXIT_NOT_ACCEPTED, UsageError
from certify.inspect.history import History, attention_label
from certify.locale import _, english, ngettext
from certify.store.database import Store
from certify.words import state_word

_AGE = re.compile(r"^\s*(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """`1 hour`, `90 minutes`, `2h`, `30m`, `1 day` → a timedelta."""
    match = _AGE.match(text)
    if match is None:
        raise UsageError(
            _("--max-age: cannot read {text} as a duration").format(text=repr(text)),
            hint=_("a whole number and a unit: 90 minutes, 2 hours, 1 day (or 90m, 2h, 1d)"),
        )
    unit = _UNITS[match.group(2)[0].lower()]
    return timedelta(**{unit: int(match.group(1))})


def span(delta: timedelta) -> str:
    """A duration in the largest whole unit that reads naturally: `1 hour`, `90 minutes`."""
    minutes = int(delta.total_seconds() // 60)
    if (minutes >= 24 * 60 and minutes % (24 * 60) == 0) or minutes >= 2 * 24 * 60:
        days = minutes // (24 * 60)
        return ngettext("{count} day", "{count} days", days).format(count=days)
    if (minutes >= 60 and minutes % 60 == 0) or minutes >= 2 * 60:
        hours = minutes // 60
        return ngettext("{count} hour", "{count} hours", hours).format(count=hours)
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=minutes)


@dataclass
class Status:
    """What `certify status` reports."""

    now: datetime
    max_age: timedelta
    last_run: RunRecord | None
    last_successful: RunRecord | None
    states: dict[str, int]
    attention: dict[str, int]
    oldest_pending: dict[str, Any] | None

    @property
    def reasons(self) -> list[str]:
        """Every reason the check fails, in the language shown; none when it passes."""
        reasons: list[str] = []
        last, good = self.last_run, self.last_successful
        # the last run is the current state: a mail server that refuses everything fails the
        # check at the next look, not only once the last good run is older than --max-age
        if last is not None and last.finished and not last.successful:
            reasons.append(
                _("the last run ({ago}): {summary}").format(
                    ago=self.ago(last), summary=last.summary
                )
            )
        if good is None:
            reasons.append(
                _("no run-due has finished its work yet")
                if last is None
                else _("no run-due has succeeded yet (none exited 0)")
            )
        elif self.now - good.now > self.max_age:
            reasons.append(
                _(
                    "the last successful run was {span} ago (more than {max_age}): "
                    "is cron still running?"
                ).format(span=span(self.now - good.now), max_age=span(self.max_age))
            )
        if self.attention:
            listed = ", ".join(
                f"{count} {attention_label(name)}" for name, count in self.attention.items()
            )
            first = next(iter(self.attention)).split()[0]
            reasons.append(
                _("needs attention: {listed} (certify log --state {state})").format(
                    listed=listed, state=first
                )
            )
        return reasons

    @property
    def ok(self) -> bool:
        return not self.reasons

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else EXIT_NOT_ACCEPTED

    @property
    def recent_success(self) -> bool:
        """Whether a run succeeded within the maximum age."""
        good = self.last_successful
        return good is not None and self.now - good.now <= self.max_age

    def ago(self, run: RunRecord) -> str:
        """How long before the status's moment a run was: `20 minutes ago`."""
        return _("{span} ago").format(span=span(max(self.now - run.now, timedelta(0))))

    def lines(self, shown: Callable[[str | datetime, bool], str]) -> list[str]:
        """What `certify status` prints, line by line; `shown(moment, zone)` is a moment in
        local time (with its zone when `zone`)."""
        lines = []
        last, good = self.last_run, self.last_successful
        if last is None:
            lines.append(_("last run: none recorded"))
        else:
            lines.append(
                _("last run: {moment} ({ago}): {summary}").format(
                    moment=shown(last.now, True), ago=self.ago(last), summary=last.summary
                )
            )
            if last.counts:
                figures = ", ".join(
                    f"{state_word(name)} {count}" for name, count in last.counts.items() if count
                )
                lines.append(f"  {figures or _('nothing to do')}")
        if last is not None and not last.successful:
            lines.append(
                _("last successful run: {moment} ({ago})").format(
                    moment=shown(good.now, True), ago=self.ago(good)
                )
                if good is not None
                else _("last successful run: none")
            )
        states = ", ".join(
            f"{count} {state_word(state)}" for state, count in sorted(self.states.items())
        )
        lines.append(_("deliveries: {states}").format(states=states or _("none yet")))
        pending = self.oldest_pending
        if pending is not None:
            attempts = int(pending["attempts"])
            line = ngettext(
                "oldest pending: {delivery}, due {due}, {count} attempt",
                "oldest pending: {delivery}, due {due}, {count} attempts",
                attempts,
            ).format(
                delivery=f"{pending['action']} {pending['course']}/{pending['person']}",
                due=(shown(pending["due_at"], False) if pending["due_at"] else "") or "?",
                count=attempts,
            )
            lines.append(f"{line}: {pending['last_error']}" if pending["last_error"] else line)
        if self.ok:
            lines.append(_("ok"))
        else:
            lines.extend(_("NOT OK: {reason}").format(reason=reason) for reason in self.reasons)
        return lines

    def as_json(self) -> dict[str, Any]:
        with english():
            reasons = self.reasons
        return {
            "now": to_utc_text(self.now),
            "ok": self.ok,
            "reasons": reasons,
            "max_age_minutes": int(self.max_age.total_seconds() // 60),
            "last_run": self.last_run.as_json() if self.last_run else None,
            "last_successful_run": self.last_successful.as_json() if self.last_successful else None,
            "last_run_successful": self.last_run.successful if self.last_run else None,
            "successful_run_within_max_age": self.recent_success,
            "deliveries": self.states,
            "needs_attention": self.attention,
            "oldest_pending": self.oldest_pending,
        }


def read_status(store: Store, now: datetime, max_age: timedelta) -> Status:
    """The last runs and the log at `now`, with every reason the check would fail."""
    log = History(store)
    return Status(
        now=now,
        max_age=max_age,
        last_run=runs.last(store),
        last_successful=runs.last_successful(store),
        states=log.state_counts(),
        attention=log.attention(),
        oldest_pending=log.oldest_pending(),
    )
