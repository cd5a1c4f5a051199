"""What the core needs from an event bus."""

from __future__ import annotations

from typing import Protocol

from openticket.store.uow import Handler

__all__ = ["EventBus", "Handler"]


class EventBus(Protocol):
    def subscribe(self, consumer: str, subject: str, handler: Handler) -> None:
        """Have `handler` apply every event of `subject` once, as `consumer`."""

    def publish_pending(self, *, known_pending: bool = False) -> set[str]:
        """Deliver every committed event not yet delivered; return the subjects delivered.
        Safe to call from any number of processes at once, and again after a crash.
        `known_pending` skips the cheap check for undelivered events."""
