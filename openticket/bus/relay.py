"""The outbox relay: hands committed events to the bus after each command and at start-up,
so events a crashed process committed but never delivered are delivered by the next one."""

from __future__ import annotations

import threading
from collections.abc import Callable

from openticket.bus.port import EventBus


class OutboxRelay:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    @property
    def delivers_in_process(self) -> bool:
        return self._bus.delivers_in_process

    def after_commit(self, *, emitted: bool = False) -> set[str]:
        """Deliver after a commit; `emitted` says that commit wrote events."""
        return self._bus.publish_pending(known_pending=emitted)

    def consume(
        self, stop: threading.Event, after_each: dict[str, Callable[[], None]] | None = None
    ) -> None:
        self._bus.consume(stop, after_each)

    def close(self) -> None:
        self._bus.close()
