"""The in-process bus: delivers the outbox to this process's consumers, in log order.

A delivery pass is one write transaction over the pending outbox rows; passes take turns
(the write lock on SQLite, an advisory lock of their own on PostgreSQL, where commands run
alongside them), and a process that dies half-way leaves nothing of its pass (it rolls back
and the next one repeats it).

The pass first runs optimistically: every consumer of every event, then the events are marked
delivered, all in one transaction, so an event is applied by all its consumers or by none;
no inbox row is needed. If any handler raises, the pass is redone with each handler in its
own savepoint together with an inbox row (processed_events) marking the event processed by
that consumer: one consumer's failure then neither undoes nor blocks the others. An event
such a pass leaves pending counts an attempt, and from then on its consumers go through the
inbox, so none applies it twice. Events a handler cannot apply yet (RetryLater: it arrived
before one it depends on) are offered again once something else has been applied. A handler
that fails leaves the event pending, visible in the outbox row, and that consumer takes no
later event in this pass. (Handlers are idempotent as well: versioned replicas.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

from openticket.bus.apply import Outcome, apply_one, apply_run
from openticket.bus.subscriptions import Subscriptions
from openticket.core import faults
from openticket.core.events import Envelope
from openticket.store import outbox
from openticket.store.locks import DELIVERY_LOCK_KEY, lock_key
from openticket.store.uow import Tx, UnitOfWork

log = logging.getLogger("openticket.bus")

MAX_ROUNDS = 50
MAX_ROWS_PER_ROUND = 5000


class InProcessBus(Subscriptions):
    # Delivery is a write transaction: a command delivers in the same turn of the lock.
    delivers_in_process = True

    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__()
        self._uow = uow

    def publish_pending(
        self,
        *,
        known_pending: bool = False,
        settled: Callable[[], None] | None = None,
        events: list[Envelope] | None = None,
    ) -> set[str]:
        delivered = self._deliver_pending(known_pending)
        if settled is not None:
            settled()  # applied in the pass that just committed
        return delivered

    def _deliver_pending(self, known_pending: bool) -> set[str]:
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

    def consume(
        self, stop: threading.Event, after_each: dict[str, Callable[[set[str]], None]] | None = None
    ) -> None:
        """Nothing arrives from elsewhere: every process delivers what it commits, and a
        worker's catch-up (Runtime.work) delivers what a dead one left. Waits for `stop`."""
        stop.wait()

    def close(self) -> None:
        pass

    def _pass(self, *, isolate: bool) -> set[str]:
        return self._uow.transact(lambda tx: self._deliver(tx, isolate=isolate))

    def _deliver(self, tx: Tx, *, isolate: bool) -> set[str]:
        delivered: set[str] = set()
        # Commands of other processes run meanwhile (PostgreSQL); passes take turns.
        lock_key(tx.conn, DELIVERY_LOCK_KEY)
        failed: set[str] = set()
        recorded_failures: set[int] = set()
        left: set[int] = set()  # offered and not (yet) done, when isolating
        for _ in range(MAX_ROUNDS):
            batch = self._pending(tx)
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
                complete, count = self._dispatch(tx, envelope, failed, isolate, recorded_failures)
                applied += count
                if complete:
                    done.append(envelope.sequence)
                    delivered.add(envelope.subject)
                else:
                    deferred += 1
                faults.point("delivery:mid-pass")  # some consumers applied, not committed
            outbox.mark_delivered(tx.conn, done, tx.now)
            if isolate:  # a pass may deliver an import's 100,000 events: no sets of those
                left.update(e.sequence for e in batch)
                left.difference_update(done)
            # Another round if rows are left over, or if this round may have unblocked
            # something: new events to deliver, or an event that arrived early.
            more_waiting = len(batch) == MAX_ROWS_PER_ROUND
            if not more_waiting and tx.emitted == emitted_before and not (deferred and applied):
                break
        if isolate:  # from now on their consumers go through the inbox
            outbox.record_left_pending(tx.conn, sorted(left - recorded_failures))
        return delivered

    def _pending(self, tx: Tx) -> list[Envelope]:
        """The oldest undelivered events; those this process wrote come from memory."""
        refs = outbox.pending_refs(tx.conn, MAX_ROWS_PER_ROUND)
        known: dict[int, Envelope] = {}
        for seq, event_id, attempts in refs:
            cached = self._uow.recent.take(event_id)
            if cached is not None:
                # The constructor, not dataclasses.replace: this runs once per imported row.
                known[seq] = Envelope(
                    cached.id, cached.subject, cached.occurred_at, cached.data, seq, attempts
                )
        missing = [seq for seq, _, _ in refs if seq not in known]
        known.update((e.sequence, e) for e in outbox.by_seqs(tx.conn, missing))
        return [known[seq] for seq, _, _ in refs if seq in known]

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
            # A run no pass has left half-applied needs no inbox rows (module docstring).
            inbox = any(e.attempts for e in run)
            try:
                applied += len(apply_run(tx, sub.consumer, sub.batch_handler, run, inbox=inbox))
            except Exception as error:
                raise _Isolate from error
        return applied

    def _dispatch(
        self,
        tx: Tx,
        envelope: Envelope,
        failed: set[str],
        isolate: bool,
        recorded_failures: set[int],
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
                # The common case: no savepoints, and no inbox row for an event no pass has
                # left half-applied; any exception redoes the pass isolated.
                try:
                    if envelope.attempts == 0 or outbox.claim(
                        tx.conn, sub.consumer, envelope.id, tx.now
                    ):
                        sub.handler(envelope, tx)
                        applied += 1
                except Exception as error:
                    raise _Isolate from error
                continue
            try:
                outcome = apply_one(tx, sub.consumer, sub.handler, envelope)
                if outcome is Outcome.APPLIED:
                    applied += 1
                elif outcome is Outcome.LATER:
                    # Versioned handlers refuse what they cannot apply yet; later events are
                    # still offered, and this one again once something else has been applied.
                    log.debug("%s defers %s #%s", sub.consumer, envelope.subject, envelope.sequence)
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
                recorded_failures.add(envelope.sequence)
                failed.add(sub.consumer)  # its later events wait until this one succeeds
                complete = False
        return complete, applied


class _Isolate(Exception):
    """Abandons an optimistic delivery pass (rolling it back) so it is redone isolated."""
