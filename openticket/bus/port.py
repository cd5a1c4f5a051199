"""What the core needs from an event bus."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from openticket.core.ports import BatchHandler, Handler

__all__ = ["EventBus", "Handler"]


class EventBus(Protocol):
    # True when handing events on applies them in this process (one write transaction);
    # False when it publishes them to a broker, which must not happen under the write lock.
    delivers_in_process: bool

    def subscribe(
        self,
        consumer: str,
        subject: str,
        handler: Handler,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        """Have `handler` apply every event of `subject` once, as `consumer`."""

    def publish_pending(self, *, known_pending: bool = False) -> set[str]:
        """Hand on every committed event not yet handed on; return their subjects.
        Safe to call from any number of processes at once, and again after a crash.
        `known_pending` skips the cheap check for undelivered events."""

    def consume(
        self, stop: threading.Event, after_each: dict[str, Callable[[], None]] | None = None
    ) -> None:
        """A worker's loop, until `stop` is set: apply events to this process's consumers.
        `after_each` maps a consumer to what to run after it applied events."""

    def close(self) -> None: ...
