"""The unit of work: one database transaction, the events it emits, and what runs after commit."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine

from openticket.core.clock import Clock
from openticket.core.events import Envelope, EventData
from openticket.core.ids import new_ids
from openticket.core.ports import Recorded, Transaction
from openticket.store import outbox
from openticket.store.db import WRITE_OPTION, write_lock
from openticket.store.locks import is_transient, lost_connection

T = TypeVar("T")

_IN_ERROR = 3  # psycopg.pq.TransactionStatus.INERROR (not imported: SQLite needs no psycopg)

# Runs of a transaction that PostgreSQL undid for a deadlock or serialization failure: each
# rerun waits a little longer, at random, so the two sides do not meet again.
TRANSIENT_ATTEMPTS = 8
TRANSIENT_PAUSE_SECONDS = 0.005


class RecentEvents:
    """Events this process wrote lately, by id, so that delivering them needs no read back
    and no JSON decoding. Only a cache: the outbox decides what is pending (an event whose
    transaction rolled back is never asked for), and a miss is read from the outbox."""

    LIMIT = 50_000
    # An import emits up to 10,000 events in one statement: more than is worth keeping, and
    # they would only churn out the rest.
    BATCH_MAX = 2_000

    def __init__(self) -> None:
        self._by_id: dict[str, Envelope] = {}

    def add(self, envelopes: list[Envelope]) -> None:
        if len(envelopes) > self.BATCH_MAX:
            return
        if len(self._by_id) + len(envelopes) > self.LIMIT:
            self._by_id = {}  # delivered elsewhere, or never committed
        self._by_id.update((envelope.id, envelope) for envelope in envelopes)

    def take(self, event_id: str) -> Envelope | None:
        return self._by_id.pop(event_id, None)


class Tx:
    """An open transaction as services and handlers see it."""

    def __init__(self, conn: Connection, now: datetime, recent: RecentEvents | None = None) -> None:
        self.conn = conn
        self.now = now
        self._after_commit: list[Callable[[], None]] = []
        self._recent = recent
        self._savepoints = 0  # open ones, for their names
        self.written = Recorded()  # emitted, less what a savepoint undid
        self._emitted = 0
        self.cause: str | None = None  # the event being handled, when a broker delivered it
        self.caused: list[tuple[str, str, str]] = []  # (cause, event id, subject) emitted
        self._deferred: list[tuple[Envelope, str | None]] | None = None  # emitted, not written

    def emit(self, subject: str, data: EventData) -> Envelope:
        """Record an event in the outbox, inside this transaction (so it commits or rolls back
        with the state change, including a savepoint's rollback)."""
        envelope = Envelope.new(subject, data, self.now)
        if self._deferred is not None:
            self._deferred.append((envelope, self.cause))
            emitted = envelope
        else:
            seq = outbox.append(self.conn, envelope, self.cause)
            if self._recent is not None:
                self._recent.add([envelope])
            emitted = Envelope(envelope.id, subject, envelope.occurred_at, data, seq)
        self.written.add([emitted])
        self._emitted += 1
        if self.cause is not None:
            self.caused.append((self.cause, envelope.id, subject))
        return emitted

    @contextmanager
    def emits_deferred(self) -> Iterator[None]:
        """The events emitted inside are written when it ends, in one statement and in the
        order emitted (a batch of reservations wrote one row per reservation); if it raises,
        none is written. An emitted event has no position until then."""
        assert self._deferred is None, "not nested"
        self._deferred = []
        written, emitted, caused = len(self.written.events), self._emitted, len(self.caused)
        try:
            yield
            deferred = self._deferred
        except BaseException:
            self.written.undo_after(written)  # never written: nothing to publish or wait for
            self._emitted = emitted
            del self.caused[caused:]
            raise
        finally:
            self._deferred = None
        if deferred:
            envelopes = [envelope for envelope, _ in deferred]
            outbox.append_many(self.conn, envelopes, [cause for _, cause in deferred])
            if self._recent is not None:
                self._recent.add(envelopes)

    def emit_many(
        self, subject: str, payloads: Sequence[EventData], causes: list[str] | None = None
    ) -> None:
        """`emit` for many events of one subject, in one statement (batch imports, batch
        handlers: these give the id of the event each payload answers, as `causes`)."""
        now = self.now
        envelopes = [
            Envelope(event_id, subject, now, data)
            for event_id, data in zip(new_ids(len(payloads)), payloads, strict=True)
        ]
        if self._deferred is not None:
            deferred_causes: list[str | None] = [*causes] if causes else [None] * len(envelopes)
            self._deferred += zip(envelopes, deferred_causes, strict=True)
        else:
            outbox.append_many(self.conn, envelopes, causes)
            if self._recent is not None:
                self._recent.add(envelopes)
        self.written.add(envelopes)
        self._emitted += len(envelopes)
        if causes is not None:
            self.caused += [(c, e.id, subject) for c, e in zip(causes, envelopes, strict=True)]

    @property
    def emitted(self) -> int:
        """Events recorded so far (less those a savepoint undid)."""
        return self._emitted

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the transaction has committed (side effects outside the database)."""
        self._after_commit.append(action)

    def failed(self) -> bool:
        driver = self.conn.connection.driver_connection
        info = getattr(driver, "info", None)  # psycopg's; sqlite3 goes on after a failure
        return info is not None and info.transaction_status == _IN_ERROR

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """What runs inside is undone, alone, if it raises. The statements go straight to the
        driver: SQLAlchemy's begin_nested compiles and dispatches each of them, which costs a
        batch of reservations (one savepoint each) a measurable share (docs/performance.md)."""
        hooks, caused = len(self._after_commit), len(self.caused)
        written, emitted = len(self.written.events), self._emitted
        deferred = None if self._deferred is None else len(self._deferred)
        name = f"openticket_{self._savepoints}"
        driver = self.conn.connection.driver_connection
        assert driver is not None
        driver.execute(f"SAVEPOINT {name}")
        self._savepoints += 1
        try:
            yield
        except BaseException:
            if self.conn.invalidated:  # the connection is gone: nothing to undo, keep the error
                raise
            driver.execute(f"ROLLBACK TO SAVEPOINT {name}")
            driver.execute(f"RELEASE SAVEPOINT {name}")
            del self._after_commit[hooks:]
            del self.caused[caused:]
            self.written.undo_after(written)
            self._emitted = emitted
            if deferred is not None and self._deferred is not None:
                del self._deferred[deferred:]
            raise
        finally:
            self._savepoints -= 1
        driver.execute(f"RELEASE SAVEPOINT {name}")


class _Recordings(threading.local):
    """A thread's open `recording` blocks."""

    def __init__(self) -> None:
        self.open: list[Recorded] = []


class UnitOfWork:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._write_lock = write_lock(engine)
        self.recent = RecentEvents()
        self.reruns = 0  # transactions run again (transact), for tests and figures
        self._recordings = _Recordings()

    def exclusive(self) -> AbstractContextManager[object]:
        """Hold this process's write lock across several transactions of this thread."""
        return self._write_lock

    @contextmanager
    def write(self) -> Iterator[Tx]:
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                tx = Tx(conn, self.clock(), self.recent)
                yield tx
        for recorded in self._recordings.open:
            recorded.add(tx.written.events, whole=tx.written.whole)
        for action in tx._after_commit:
            action()

    @contextmanager
    def recording(self, into: Recorded | None = None) -> Iterator[Recorded]:
        """The events this thread's writes commit while the block lasts (other threads'
        writes, a consumer's batches among them, are not in it); `into`: go on recording
        into what an earlier block (ended) held."""
        recorded = Recorded() if into is None else into
        self._recordings.open.append(recorded)
        try:
            yield recorded
        finally:
            self._recordings.open = [b for b in self._recordings.open if b is not recorded]

    def transact(self, body: Callable[[Tx], T]) -> T:
        """`body` in a write transaction, run again (from the start, in a new transaction)
        when the database undid it for a deadlock or a serialization failure, or when its
        connection was lost before it asked to commit (so none of it can have committed)."""
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            committing = False
            try:
                with self.write() as tx:
                    result = body(tx)
                    committing = True
                return result
            except Exception as error:
                again = is_transient(error) or (lost_connection(error) and not committing)
                if attempt == TRANSIENT_ATTEMPTS or not again:
                    raise
                self.reruns += 1
                time.sleep(random.uniform(0, TRANSIENT_PAUSE_SECONDS * 2**attempt))
        raise AssertionError("unreachable")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.engine.connect() as conn, conn.begin():
            yield Tx(conn, self.clock())


def connection(tx: Transaction) -> Connection:
    """The SQL connection behind a transaction: for the domains' repositories only."""
    assert isinstance(tx, Tx), "a repository needs the store's transaction"
    return tx.conn
