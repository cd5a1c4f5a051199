"""The in-process bus: delivers the outbox to this process's consumers, in log order.

A delivery pass is one write transaction over the pending outbox rows. Each consumer's handler
runs in its own savepoint together with the inbox row that marks the event processed, so an
event is applied exactly once per consumer even when two processes deliver at the same time
(their passes are serialized by the write lock) or a process dies half-way (the pass rolls
back and the next one repeats it). Events a handler cannot apply yet (RetryLater: it arrived
before one it depends on) are offered again once something else has been applied. A handler
that fails leaves the event pending, visible in the outbox row, and that consumer takes no
later event in this pass.
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

MAX_ROUNDS = 50
MAX_ROWS_PER_ROUND = 1000


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
        with self._uow.read() as tx:
            if not outbox.has_pending(tx.conn):
                return 0
        delivered = 0
        with self._uow.write() as tx:
            failed: set[str] = set()
            for _ in range(MAX_ROUNDS):
                batch = outbox.pending(tx.conn, limit=MAX_ROWS_PER_ROUND)
                done: list[int] = []
                applied = 0
                for envelope in batch:
                    complete, count = self._dispatch(tx, envelope, failed)
                    applied += count
                    if complete:
                        done.append(envelope.sequence)
                outbox.mark_delivered(tx.conn, done, tx.now)
                delivered += len(done)
                # Another round only if this one changed something: new events to deliver,
                # or an event that arrived early may now apply.
                if applied == 0:
                    break
        return delivered

    def _dispatch(self, tx: Tx, envelope: Envelope, failed: set[str]) -> tuple[bool, int]:
        """Offer one event to each of its consumers; (all consumers done, how many applied)."""
        complete, applied = True, 0
        for sub in self._subscriptions:
            if sub.subject != envelope.subject:
                continue
            if sub.consumer in failed:
                complete = False
                continue
            if outbox.already_processed(tx.conn, sub.consumer, envelope.id):
                continue
            try:
                with tx.savepoint():
                    sub.handler(envelope, tx)
                    outbox.mark_processed(tx.conn, sub.consumer, envelope.id, tx.now)
                applied += 1
            except RetryLater as wait:
                # Versioned handlers refuse what they cannot apply yet; later events are still
                # offered, and this one again once something else has been applied.
                log.debug(
                    "%s defers %s #%s: %s", sub.consumer, envelope.subject, envelope.sequence, wait
                )
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
                failed.add(sub.consumer)  # its later events wait until this one succeeds
                complete = False
        return complete, applied
