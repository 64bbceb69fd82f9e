"""What a delivery's record says in words: its last error and the details of its history.

They are written in the language shown when they happen (a mail server's reply is in the
server's own words) and shown later as written: the log is a record, and a record does not
change its words when the language changes.
"""

from __future__ import annotations

from certify.locale import N_, _, ngettext
from certify.words import NOT_SENT, state_word

_INTERRUPTED = {
    "found": N_("found written after an interrupted run"),
    "claimed": N_("run stopped before the message was handed over"),
    "unwritten": N_("run stopped before the file was written"),
    "handing": N_("run stopped while handing the message over"),
}


def not_sent(reason: str) -> str:
    """A delivery held back by a problem of the setup (a template), with the reason."""
    return _(NOT_SENT).format(reason=reason)


def interrupted(kind: str) -> str:
    """Where a killed run left a delivery, as its history says it (`_INTERRUPTED`'s keys)."""
    return _(_INTERRUPTED[kind])


def gave_up(reason: str, attempts: int) -> str:
    """The last error of a delivery that failed for good after trying again and again."""
    tried = ngettext("gave up after {count} attempt", "gave up after {count} attempts", attempts)
    return f"{reason} ({tried.format(count=attempts)})"


def retried(state: str, reason: str) -> str:
    """A delivery put back to pending by `certify retry`, as its history says it."""
    return _("retry (was {state}): {reason}").format(state=state_word(state), reason=reason)


def marked(current: str | None, reason: str) -> str:
    """A delivery's state set by `certify mark`, as its history says it."""
    if current is None:
        return _("marked by hand (no record before): {reason}").format(reason=reason)
    return _("marked by hand (was {state}): {reason}").format(
        state=state_word(current), reason=reason
    )
