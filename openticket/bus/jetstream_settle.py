"""Read your writes on a broker: a command that published events waits until the consumers
that handle them, in whichever process, have applied them and what they announced in turn.

One waiter per process (`Settler`) does the looking for every command waiting in it. On
PostgreSQL it learns from the announcements of every process's consumers
(store/progress.py: NOTIFY, with what was applied and what applying it emitted): no read of the
store for a command whose events were announced, however many servers wait. A command still
waiting after STORE_LOOK_SECONDS (an announcement missed while the listener reconnected, or
made before it listened) takes every waiting command to the store with it, a few statements
for all; so does an announcement without facts. Without announcements (another database) it
looks in the store on a short timer, still once for all. A command that must not block while
its consumers catch up (a server's reservation writer, free for the next batch meanwhile)
leaves a callback with the waiter instead (`Settler.then`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection

from openticket.core.ports import RECORDED_MAX
from openticket.store import outbox
from openticket.store.progress import Facts, ProgressListener
from openticket.store.uow import UnitOfWork

log = logging.getLogger("openticket.bus")

SETTLE_SECONDS = 10.0
SETTLE_MAX_EVENTS = RECORDED_MAX  # a bulk import does not wait for its replicas
# How long the waiter sleeps between looks when nothing is announced: with announcements,
# to check stragglers in the store; without them, as the way it learns of progress.
LOOK_SECONDS_ANNOUNCED = 0.25
LOOK_SECONDS_UNANNOUNCED = 0.01
STORE_LOOK_SECONDS = 0.5  # a command waiting this long is checked in the store too
# How long announced facts are kept: a command's events and their consequences are applied
# after it began to wait, and it waits SETTLE_SECONDS at most.
FACTS_SECONDS = SETTLE_SECONDS + 5.0

Generation = list[tuple[str, str]]  # (event id, subject)


class _Source(Protocol):
    """Where the waiter learns what was applied and what that emitted: the store, or what
    announcements said."""

    def processed(self, event_ids: list[str]) -> set[tuple[str, str]]: ...

    def caused_by(self, causes: list[str]) -> list[tuple[str, str, str]]: ...


class _Store:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def processed(self, event_ids: list[str]) -> set[tuple[str, str]]:
        return outbox.processed(self._conn, event_ids)

    def caused_by(self, causes: list[str]) -> list[tuple[str, str, str]]:
        return outbox.caused_by(self._conn, causes)


class _Announced:
    """What announcements said: an event counts as applied by a consumer, with everything
    that consumer emitted handling it, once its announcement was heard (one notification
    carries both)."""

    def __init__(self, facts: Facts) -> None:
        self._facts = facts

    def processed(self, event_ids: list[str]) -> set[tuple[str, str]]:
        return self._facts.done  # applied() asks for pairs: the whole set answers

    def caused_by(self, causes: list[str]) -> list[tuple[str, str, str]]:
        caused = self._facts.caused
        return [(cause, *row) for cause in causes for row in caused.get(cause, ())]


class _Waiting:
    """One command's wait: the generation of events it waits on now. `then`: what the
    waiter calls when it is over (else the command waits on `done` itself)."""

    def __init__(
        self,
        events: list[tuple[str, str]],
        consumers_of: dict[str, set[str]],
        then: Callable[[], None] | None = None,
    ):
        self.generation: Generation = list(events)
        self.consumers_of = consumers_of
        self.seen = 0
        self.done = threading.Event()
        self.then = then
        self.began = self.looked_in_store = time.monotonic()  # looked: when the store was asked

    def applied(self, done: set[tuple[str, str]]) -> bool:
        """Whether every event of this generation was applied by each of its consumers
        (which got it from the broker: whoever published it, it was)."""
        return not any(
            (consumer, event_id) not in done
            for event_id, subject in self.generation
            for consumer in self.consumers_of.get(subject, ())
        )

    def advance(self, caused: dict[str, Generation]) -> None:
        """On to what handling this generation emitted (complete, since a handler's events
        commit with its inbox row); done when there is nothing more."""
        self.seen += len(self.generation)
        self.generation = [row for event_id, _ in self.generation for row in caused[event_id]]
        if not self.generation or self.seen > SETTLE_MAX_EVENTS:
            self.done.set()


def _check(source: _Source, waiting: list[_Waiting]) -> None:
    """Move every waiting command as far as `source` says, in a few reads for all."""
    while waiting:
        ids = list({event_id for w in waiting for event_id, _ in w.generation})
        done = source.processed(ids)
        ready = [w for w in waiting if w.applied(done)]
        if not ready:
            return
        causes = list({event_id for w in ready for event_id, _ in w.generation})
        caused: dict[str, Generation] = defaultdict(list)
        for cause, event_id, subject in source.caused_by(causes):
            caused[cause].append((event_id, subject))
        for w in ready:
            w.advance(caused)
        waiting = [w for w in ready if not w.done.is_set()]


def waiting(
    uow: UnitOfWork, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]
) -> bool:
    """Whether some consumer has yet to apply one of these events, or one of those their
    handlers emitted."""
    one = _Waiting(events, consumers_of)
    with uow.read() as tx:
        _check(_Store(tx.conn), [one])
    return not one.done.is_set()


class Settler:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._wake = threading.Event()
        self._listener = ProgressListener(uow.engine, self._heard)
        self._facts = Facts()
        self._everyone_to_store = False  # an announcement said only "look in the store"
        self._waiting: set[_Waiting] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def settle(
        self,
        events: list[tuple[str, str]],
        consumers_of: dict[str, set[str]],
    ) -> None:
        """Wait (up to SETTLE_SECONDS) until every consumer applied these (event id,
        subject) and what applying them emitted in turn (their `caused_by`), not for other
        commands' events, whichever process published them."""
        if self._nothing_to_wait_for(events, consumers_of):
            return  # (a worker's commands: no listener, no looks)
        one = _Waiting(events, consumers_of)
        self._add(one)
        try:
            if not one.done.wait(SETTLE_SECONDS):
                log.debug("consumers still catching up after %s s", SETTLE_SECONDS)
        finally:
            with self._lock:
                self._waiting.discard(one)

    def then(
        self,
        events: list[tuple[str, str]],
        consumers_of: dict[str, set[str]],
        settled: Callable[[], None],
    ) -> None:
        """`settle` without blocking: `settled` is called once it would have returned: by
        the waiter's thread, by `close`, or at once when there is nothing to wait for."""
        if self._nothing_to_wait_for(events, consumers_of):
            _call(settled)
            return
        self._add(_Waiting(events, consumers_of, settled))

    def _nothing_to_wait_for(
        self, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]
    ) -> bool:
        return (
            len(events) > SETTLE_MAX_EVENTS
            or self._closed
            or not any(consumers_of.get(subject) for _, subject in events)
        )

    def _add(self, one: _Waiting) -> None:
        with self._lock:
            closed = self._closed  # since the caller looked: nobody would call back
            if closed:
                one.done.set()
            else:
                self._waiting.add(one)
                self._start()
        if not closed:
            self._wake.set()
        elif one.then is not None:
            _call(one.then)

    def _start(self) -> None:
        """The waiter's thread and its listener, once (called with the lock held)."""
        if self._thread is None:
            self._everyone_to_store = True  # until the listener listens
            self._listener.start()
            self._thread = threading.Thread(
                target=self._look, name="openticket-settle", daemon=True
            )
            self._thread.start()

    def _heard(self, payload: str | None) -> None:
        """An announcement (None: some may have been missed)."""
        with self._lock:
            if payload is None or not self._facts.learn(payload, time.monotonic()):
                self._everyone_to_store = True
        self._wake.set()

    def _look(self) -> None:
        announced = self._listener.available
        pause = LOOK_SECONDS_ANNOUNCED if announced else LOOK_SECONDS_UNANNOUNCED
        while not self._closed:
            self._wake.wait(pause)
            self._wake.clear()
            now = time.monotonic()
            try:
                self._look_once(announced, now)
            except Exception:  # the waiter must go on: commands wait on it
                log.exception("settling: a look failed")
            self._call_back(time.monotonic())

    def _look_once(self, announced: bool, now: float) -> None:
        with self._lock:
            current = [w for w in self._waiting if not w.done.is_set()]
            if announced:
                self._facts.forget_before(now - FACTS_SECONDS)
                _check(_Announced(self._facts), current)
            everyone = self._everyone_to_store
            if current:  # kept for the next command when nobody waits
                self._everyone_to_store = False
        due = [w for w in current if not w.done.is_set()]
        if not due:
            return
        # One straggler takes every waiting command to the store with it (a few more ids
        # in the same statements): a process looks there at most so often.
        straggling = now - min(w.looked_in_store for w in due) >= STORE_LOOK_SECONDS
        if announced and not everyone and not straggling:
            return
        for w in due:
            w.looked_in_store = now
        self._call_back(now)  # those past the bound do not wait for the store's answer
        try:
            with self._uow.read() as tx:
                _check(_Store(tx.conn), due)
        except Exception as error:  # the store is unreachable a moment: look again
            log.debug("settling: %s", type(error).__name__)

    def _call_back(self, now: float) -> None:
        """Call those waiting with `then` whose wait is over: settled, or past the bound."""
        with self._lock:
            over = [
                w
                for w in self._waiting
                if w.then is not None and (w.done.is_set() or now - w.began >= SETTLE_SECONDS)
            ]
            self._waiting.difference_update(over)
        for w in over:
            if not w.done.is_set():
                log.debug("consumers still catching up after %s s", SETTLE_SECONDS)
            if w.then is not None:
                _call(w.then)

    def close(self) -> None:
        self._closed = True
        with self._lock:  # commands still waiting return now: the process is stopping
            waiting, self._waiting = self._waiting, set()
            for one in waiting:
                one.done.set()
        for one in waiting:
            if one.then is not None:
                _call(one.then)
        self._wake.set()
        self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _call(settled: Callable[[], None]) -> None:
    try:
        settled()
    except Exception:  # the caller's to answer for: the waiter goes on for the others
        log.exception("settling: a callback failed")
