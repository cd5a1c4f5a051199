"""The reactions a bus has been given, as both buses look them up."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from openticket.core.ports import BatchHandler, Handler


@dataclass(frozen=True)
class Subscription:
    consumer: str
    subject: str
    handler: Handler
    batch_handler: BatchHandler | None = None


class Subscriptions:
    """Mixed into a bus: its `subscribe`, and the lookups its delivery needs."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._batchable: dict[str, bool] = {}  # every consumer of the subject takes batches
        self._handlers: dict[str, dict[str, Handler]] = defaultdict(dict)
        self._batch_handlers: dict[str, dict[str, BatchHandler]] = defaultdict(dict)

    def subscribe(
        self, consumer: str, subject: str, handler: Handler, batch: BatchHandler | None = None
    ) -> None:
        self._subscriptions.append(Subscription(consumer, subject, handler, batch))
        subs = [sub for sub in self._subscriptions if sub.subject == subject]
        self._batchable[subject] = all(sub.batch_handler is not None for sub in subs)
        self._handlers[consumer][subject] = handler
        if batch is not None:
            self._batch_handlers[consumer][subject] = batch
