"""Read your writes on a broker: a command that published events waits until the consumers
that handle them, in whichever process, have applied them and what they announced in turn.

One waiter per process (`Settler`) does the looking for every command waiting in it: when a
consumer or publisher of any process announces progress (store/progress.py: PostgreSQL's
NOTIFY) it checks all of them in one read, a few statements for however many commands wait;
without announcements (another database) it looks on a short timer, still once for all.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from sqlalchemy import Connection

from openticket.store import outbox
from openticket.store.progress import ProgressListener
from openticket.store.uow import UnitOfWork

log = logging.getLogger("openticket.bus")

SETTLE_SECONDS = 10.0
SETTLE_MAX_EVENTS = 1000  # a bulk import does not wait for its replicas
# How long the waiter sleeps between looks: with announcements only as a safety net (one
# missed while the listener reconnected), without them as the way it learns of progress.
LOOK_SECONDS_ANNOUNCED = 0.5
LOOK_SECONDS_UNANNOUNCED = 0.01

Generation = list[tuple[str, str]]  # (event id, subject)


class _Waiting:
    """One command's wait: the generation of events it waits on now."""

    def __init__(self, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]):
        self.generation: Generation = list(events)
        self.own = True  # the command's own events: it published them itself
        self.consumers_of = consumers_of
        self.seen = 0
        self.done = threading.Event()

    def applied(self, done: set[tuple[str, str]], published: set[str]) -> bool:
        """Whether every event of this generation was handed on and applied by each of its
        consumers."""
        return not any(
            (not self.own and event_id not in published) or (consumer, event_id) not in done
            for event_id, subject in self.generation
            for consumer in self.consumers_of.get(subject, ())
        )

    def advance(self, caused: dict[str, Generation]) -> None:
        """On to what handling this generation emitted (complete, since a handler's events
        commit with its inbox row); done when there is nothing more."""
        self.seen += len(self.generation)
        self.generation = [row for event_id, _ in self.generation for row in caused[event_id]]
        self.own = False
        if not self.generation or self.seen > SETTLE_MAX_EVENTS:
            self.done.set()


def _check(conn: Connection, waiting: list[_Waiting]) -> None:
    """Move every waiting command as far as the store says, in a few statements for all."""
    while waiting:
        ids = list({event_id for w in waiting for event_id, _ in w.generation})
        done = outbox.processed(conn, ids)
        unsure = list({event_id for w in waiting if not w.own for event_id, _ in w.generation})
        published = outbox.published(conn, unsure) if unsure else set()
        ready = [w for w in waiting if w.applied(done, published)]
        if not ready:
            return
        causes = list({event_id for w in ready for event_id, _ in w.generation})
        caused: dict[str, Generation] = defaultdict(list)
        for cause, event_id, subject in outbox.caused_by(conn, causes):
            caused[cause].append((event_id, subject))
        for w in ready:
            w.advance(caused)
        waiting = [w for w in ready if not w.done.is_set()]


def waiting(
    uow: UnitOfWork, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]
) -> bool:
    """Whether some consumer has yet to apply one of these published events, or one of
    those their handlers emitted."""
    one = _Waiting(events, consumers_of)
    with uow.read() as tx:
        _check(tx.conn, [one])
    return not one.done.is_set()


class Settler:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._wake = threading.Event()
        self._listener = ProgressListener(uow.engine, self._wake)
        self._waiting: set[_Waiting] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def settle(self, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]) -> None:
        """Wait (up to SETTLE_SECONDS) until every consumer applied these (event id,
        subject) and what applying them emitted in turn (their `caused_by`), not for other
        commands' events."""
        if len(events) > SETTLE_MAX_EVENTS or self._closed:
            return
        one = _Waiting(events, consumers_of)
        with self._lock:
            self._waiting.add(one)
            if self._thread is None:
                self._listener.start()
                self._thread = threading.Thread(
                    target=self._look, name="openticket-settle", daemon=True
                )
                self._thread.start()
        self._wake.set()
        try:
            if not one.done.wait(SETTLE_SECONDS):
                log.debug("consumers still catching up after %s s", SETTLE_SECONDS)
        finally:
            with self._lock:
                self._waiting.discard(one)

    def _look(self) -> None:
        pause = LOOK_SECONDS_ANNOUNCED if self._listener.available else LOOK_SECONDS_UNANNOUNCED
        while not self._closed:
            self._wake.wait(pause)
            self._wake.clear()
            with self._lock:
                current = [w for w in self._waiting if not w.done.is_set()]
            if not current:
                continue
            try:
                with self._uow.read() as tx:
                    _check(tx.conn, current)
            except Exception as error:  # the store is unreachable a moment: look again
                log.debug("settling: %s", type(error).__name__)

    def close(self) -> None:
        self._closed = True
        with self._lock:  # commands still waiting return now: the process is stopping
            for one in self._waiting:
                one.done.set()
        self._wake.set()
        self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
