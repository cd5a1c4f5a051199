"""The in-process bus: delivers the outbox to this process's consumers, in log order.

A delivery pass is one write transaction over the pending outbox rows. Each consumer's handler
runs in its own savepoint together with the inbox row that marks the event processed, so an
event is applied exactly once per consumer even when two processes deliver at the same time
(their passes are serialized by the write lock) or a process dies half-way (the pass rolls
back and the next one repeats it). A handler that fails leaves the event pending for that
consumer, and that consumer takes no later event until it succeeds, so order is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from openticket.bus.port import Handler
from openticket.core.errors import RetryLater
from openticket.core.events import Envelope
from openticket.store import outbox
from openticket.store.uow import Tx, UnitOfWork

log = logging.getLogger("openticket.bus")

MAX_ROWS_PER_PASS = 2000


@dataclass(frozen=True)
class Subscription:
    consumer: str
    subject: str
    handler: Handler


class InProcessBus:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._subscriptions: list[Subscription] = []

    def subscribe(self, consumer: str, subject: str, handler: Handler) -> None:
        self._subscriptions.append(Subscription(consumer, subject, handler))

    def publish_pending(self) -> int:
        delivered = 0
        with self._uow.read() as tx:
            if not outbox.has_pending(tx.conn):
                return 0
        with self._uow.write() as tx:
            blocked: set[str] = set()
            last_seen = 0
            while delivered < MAX_ROWS_PER_PASS:
                batch = outbox.pending(tx.conn, after_seq=last_seen)
                if not batch:
                    break
                done: list[int] = []
                for envelope in batch:
                    last_seen = envelope.sequence
                    if self._dispatch(tx, envelope, blocked):
                        done.append(envelope.sequence)
                outbox.mark_delivered(tx.conn, done, tx.now)
                delivered += len(done)
        return delivered

    def _dispatch(self, tx: Tx, envelope: Envelope, blocked: set[str]) -> bool:
        complete = True
        for sub in self._subscriptions:
            if sub.subject != envelope.subject:
                continue
            if sub.consumer in blocked:
                complete = False
                continue
            if outbox.already_processed(tx.conn, sub.consumer, envelope.id):
                continue
            try:
                with tx.savepoint():
                    sub.handler(envelope, tx)
                    outbox.mark_processed(tx.conn, sub.consumer, envelope.id, tx.now)
            except RetryLater as wait:
                log.info(
                    "%s waits on %s #%s: %s",
                    sub.consumer,
                    envelope.subject,
                    envelope.sequence,
                    wait,
                )
                blocked.add(sub.consumer)
                complete = False
            except Exception as error:  # a failed reaction stays pending and visible
                log.warning(
                    "%s failed on %s #%s: %s",
                    sub.consumer,
                    envelope.subject,
                    envelope.sequence,
                    error,
                )
                outbox.record_failure(tx.conn, envelope.sequence, f"{sub.consumer}: {error!r}")
                blocked.add(sub.consumer)
                complete = False
        return complete
