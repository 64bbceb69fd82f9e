"""A run interrupted, and what it leaves: SIGTERM asks a run to stop after the message in
hand; what a killed run left `claimed` or `sending` is recovered before anything else is
sent, by the next run or by an administrator's command."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from certify.deliver.log import DeliveryLog
from certify.deliver.outbox import safe_file_name
from certify.deliver.transports import Transport


class Stop:
    """SIGTERM: finish the message in hand, record it, then stop."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> Stop:
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread
            self._previous = None
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def recover(deliveries: DeliveryLog, transport: Transport | None) -> list[str]:
    """Resolve what a killed run left `claimed` or `sending`, before anything else is sent.

    Without a transport to ask, a message that may have been handed over is `unknown`.
    """
    if transport is None:
        return deliveries.recover(lambda key, message_id: None)
    return deliveries.recover(
        lambda key, message_id: transport.was_delivered(safe_file_name(*key), message_id)
    )
