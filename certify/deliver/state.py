"""The states of a delivery, as the log stores them, and the sets the code reasons with.

The values are the strings the `deliveries` table holds; a state is a `str`, so it goes to
SQLite, JSON and messages as its plain value.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class DeliveryState(StrEnum):
    """Where a delivery stands in the log."""

    PENDING = "pending"  # due, or waiting out a back-off
    CLAIMED = "claimed"  # taken in hand by a run, not handed over yet
    SENDING = "sending"  # being handed over: from here on it may have arrived
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the server went silent after the whole message
    SKIPPED = "skipped"  # due before the action's `since`
    EXPIRED = "expired"  # due longer ago than `expire_after`


# What no run sends again by itself.
FINAL = frozenset(
    {DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.UNKNOWN, DeliveryState.EXPIRED}
)
# What a run has in hand: the next run (or `send`, `mark`, `retry`) recovers it first.
HELD_BY_A_RUN = frozenset({DeliveryState.CLAIMED, DeliveryState.SENDING})
# Still moving: a retry waits, or a run was interrupted.
IN_MOTION = frozenset({DeliveryState.PENDING, *HELD_BY_A_RUN})
# What `mark` changes without force: what is not yet known to have reached the person.
MARK_FREELY = frozenset({DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.UNKNOWN})
# What may already be on its way or delivered: never sent again by chance.
MAYBE_DELIVERED = frozenset({*HELD_BY_A_RUN, DeliveryState.SENT, DeliveryState.UNKNOWN})
# What `retry` puts back to pending (`unknown` only with force).
RETRYABLE = frozenset({DeliveryState.FAILED, DeliveryState.UNKNOWN})


def sql_list(states: Iterable[DeliveryState]) -> str:
    """The states as an SQL list of literals, in a fixed order: `('failed', 'sent')`."""
    return "(" + ", ".join(f"'{state.value}'" for state in sorted(states)) + ")"
