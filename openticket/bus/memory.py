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
from collections.abc import Iterator
from dataclasses import dataclass

from openticket.bus.port import Handler
from openticket.core.errors import RetryLater
from openticket.core.events import Envelope
from openticket.store import outbox
from openticket.store.uow import BatchHandler, Tx, UnitOfWork

log = logging.getLogger("openticket.bus")

MAX_ROUNDS = 50
MAX_ROWS_PER_ROUND = 5000


@dataclass(frozen=True)
class Subscription:
    consumer: str
    subject: str
    handler: Handler
    batch_handler: BatchHandler | None = None


class InProcessBus:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._subscriptions: list[Subscription] = []
        self._batchable: dict[str, bool] = {}

    def subscribe(
        self,
        consumer: str,
        subject: str,
        handler: Handler,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self._subscriptions.append(Subscription(consumer, subject, handler, batch_handler))
        subs = [sub for sub in self._subscriptions if sub.subject == subject]
        self._batchable[subject] = all(sub.batch_handler is not None for sub in subs)

    def publish_pending(self, *, known_pending: bool = False) -> set[str]:
        if not known_pending:
            with self._uow.read() as tx:
                if not outbox.has_pending(tx.conn):
                    return set()
        try:
            return self._pass(isolate=False)
        except _Isolate:
            # Something failed or waits: redo the pass with each handler in a savepoint, so
            # one consumer's failure cannot undo or block the others.
            return self._pass(isolate=True)

    def _pass(self, *, isolate: bool) -> set[str]:
        delivered: set[str] = set()
        with self._uow.write() as tx:
            failed: set[str] = set()
            for _ in range(MAX_ROUNDS):
                batch = outbox.pending(tx.conn, limit=MAX_ROWS_PER_ROUND)
                done: list[int] = []
                applied = deferred = 0
                emitted_before = tx.emitted
                for run in self._runs(batch, isolate):
                    if len(run) > 1:
                        applied += self._dispatch_run(tx, run)
                        done.extend(envelope.sequence for envelope in run)
                        delivered.add(run[0].subject)
                        continue
                    envelope = run[0]
                    complete, count = self._dispatch(tx, envelope, failed, isolate)
                    applied += count
                    if complete:
                        done.append(envelope.sequence)
                        delivered.add(envelope.subject)
                    else:
                        deferred += 1
                outbox.mark_delivered(tx.conn, done, tx.now)
                # Another round if rows are left over, or if this round may have unblocked
                # something: new events to deliver, or an event that arrived early.
                more_waiting = len(batch) == MAX_ROWS_PER_ROUND
                if not more_waiting and tx.emitted == emitted_before and not (deferred and applied):
                    break
        return delivered

    def _runs(self, batch: list[Envelope], isolate: bool) -> Iterator[list[Envelope]]:
        """Consecutive events of one subject whose consumers all take batches, as one run;
        every other event alone."""
        run: list[Envelope] = []
        for envelope in batch:
            if run and (envelope.subject != run[0].subject or isolate):
                yield run
                run = []
            run.append(envelope)
            if not self._batchable.get(envelope.subject, False):
                yield run
                run = []
        if run:
            yield run

    def _dispatch_run(self, tx: Tx, run: list[Envelope]) -> int:
        applied = 0
        for sub in self._subscriptions:
            if sub.subject != run[0].subject:
                continue
            assert sub.batch_handler is not None
            try:
                fresh = outbox.claim_many(tx.conn, sub.consumer, [e.id for e in run], tx.now)
                sub.batch_handler([e for e in run if e.id in fresh], tx)
            except Exception as error:
                raise _Isolate from error
            applied += len(fresh)
        return applied

    def _dispatch(
        self, tx: Tx, envelope: Envelope, failed: set[str], isolate: bool
    ) -> tuple[bool, int]:
        """Offer one event to each of its consumers; (all consumers done, how many applied)."""
        complete, applied = True, 0
        for sub in self._subscriptions:
            if sub.subject != envelope.subject:
                continue
            if sub.consumer in failed:
                complete = False
                continue
            if not isolate:
                # The common case: no savepoint round trips. The inbox claim and the effect
                # are in the pass's transaction; any exception redoes the pass isolated.
                try:
                    if outbox.claim(tx.conn, sub.consumer, envelope.id, tx.now):
                        sub.handler(envelope, tx)
                        applied += 1
                except Exception as error:
                    raise _Isolate from error
                continue
            try:
                with tx.savepoint():
                    if not outbox.claim(tx.conn, sub.consumer, envelope.id, tx.now):
                        continue
                    sub.handler(envelope, tx)
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


class _Isolate(Exception):
    """Abandons an optimistic delivery pass (rolling it back) so it is redone isolated."""
