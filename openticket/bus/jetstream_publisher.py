"""The publishing side of the JetStream bus and its connection: a command's or a consumer
batch's own events go out as written, what is left in the outbox in log order, each with its
event id as `Nats-Msg-Id` (jetstream.py's docstring has the whole story)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from openticket.bus.jetstream_wire import encode, nats_subject
from openticket.bus.subscriptions import Subscriptions
from openticket.core import faults
from openticket.core.events import Envelope
from openticket.store import outbox
from openticket.store.uow import UnitOfWork

log = logging.getLogger("openticket.bus")

T = TypeVar("T")

PUBLISH_CHUNK = 500
DUPLICATE_WINDOW_SECONDS = 24 * 3600.0
CONNECT_TIMEOUT_SECONDS = 2.0
# Tries per connection before it is given up; a worker then makes a new one. A command whose
# events cannot be published leaves them to a worker's pass, within ~1 s.
RECONNECT_ATTEMPTS = 2
RECONNECT_SECONDS = 0.5
PUBLISH_PAUSE_SECONDS = 5.0


class JetStreamPublisher(Subscriptions):
    def __init__(self, uow: UnitOfWork, url: str, stream: str) -> None:
        super().__init__()
        self._uow = uow
        self._url = url
        self._stream = stream
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openticket-nats")
        self._thread.daemon = True
        self._thread.start()
        self._nc: Any = None
        self._js: Any = None
        self._publish_paused_until = 0.0

    def _publish_unpublished(self) -> list[Envelope]:
        """Publish every unpublished outbox row (what commands that died or could not reach
        NATS left); those handed on. When NATS cannot be reached the rows stay unpublished
        and a worker's next pass publishes them."""
        handed_on: list[Envelope] = []
        if not self.publishing:
            return handed_on  # NATS failed a moment ago: do not make every call wait
        while True:
            try:
                with self._claimed() as (batch, mark_published):
                    if not batch:
                        return handed_on
                    if not self._sent(batch):
                        return handed_on
                    mark_published()
            except DBAPIError as error:
                # Published already; marked by a later pass (JetStream drops the copies).
                log.warning("events not marked published yet (%s)", type(error.orig).__name__)
                return handed_on
            handed_on += batch
            if len(batch) < PUBLISH_CHUNK:
                return handed_on

    def _publish_written(self, events: list[Envelope] | None) -> list[Envelope]:
        """Publish events this process has just committed as they are, without reading or
        locking their outbox rows (a command's, a consumer batch's), then mark them
        published in one statement; those handed on. Should another publisher send them
        too (a worker's pass for what is left), JetStream drops the copy; should the mark
        fail, a later pass publishes them again, likewise dropped. None (more than were
        held, core/ports.Recorded): what is unpublished, claimed."""
        if events is None:
            return self._publish_unpublished()
        handed_on: list[Envelope] = []
        if not events or not self.publishing:
            return handed_on
        for start in range(0, len(events), PUBLISH_CHUNK):
            chunk = events[start : start + PUBLISH_CHUNK]
            if not self._sent(chunk):
                break
            handed_on += chunk
        if handed_on:
            try:
                with self._marking() as conn:
                    outbox.mark_delivered_ids(conn, [e.id for e in handed_on], self._uow.clock())
            except Exception as error:  # committed and published: never an error for the caller
                log.warning("events not marked published yet (%s)", type(error).__name__)
        return handed_on

    def _marking(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection for the mark alone: on PostgreSQL in autocommit, one round trip where
        BEGIN and COMMIT were two more (SQLite's connections begin their own transactions)."""
        engine = self._uow.engine
        if engine.dialect.name == "postgresql":
            return engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        return engine.begin()

    def _sent(self, batch: list[Envelope]) -> bool:
        """Whether JetStream acknowledged the whole batch; if not, publishing pauses."""
        try:
            faults.point("publish:chunk")  # NATS refusing a chunk (tests)
            self._run(self._publish(batch))
        except Exception as error:
            log.warning("events not published yet (NATS: %s)", type(error).__name__)
            self._publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
            return False
        return True

    @property
    def publishing(self) -> bool:
        """Whether NATS took this process's last publish (not paused after a failure)."""
        return time.monotonic() >= self._publish_paused_until

    @contextlib.contextmanager
    def _claimed(self) -> Iterator[tuple[list[Envelope], Callable[[], None]]]:
        """The next unpublished rows, and how to mark them published once JetStream has them.
        No place in the writers' queue is taken (a caller may hold the store's write lock).
        On PostgreSQL the rows stay locked from the read to the mark, and other processes'
        publishers skip them: two processes marking overlapping rows each deadlocked on the
        other's row locks. SQLite has one writer at a time, so there the read and the mark
        are two transactions; a row published by two threads is a duplicate JetStream drops."""
        engine = self._uow.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                batch = outbox.claim_unpublished(conn, PUBLISH_CHUNK)
                yield batch, lambda: self._mark(conn, batch)
            return
        with self._uow.read() as tx:  # SQLite has no row locks: a plain read here
            batch = outbox.claim_unpublished(tx.conn, PUBLISH_CHUNK)

        def mark() -> None:
            with engine.begin() as conn:
                self._mark(conn, batch)

        yield batch, mark

    def _mark(self, conn: Connection, batch: list[Envelope]) -> None:
        outbox.mark_delivered(conn, [e.sequence for e in batch], self._uow.clock())

    # -- the connection -------------------------------------------------------------------
    async def _connected(self) -> None:
        if self._nc is not None and not self._nc.is_closed and self._js is not None:
            return
        import nats
        from nats.js.api import StreamConfig

        self._nc, self._js = None, None
        connection = await nats.connect(
            self._url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            max_reconnect_attempts=RECONNECT_ATTEMPTS,
            reconnect_time_wait=RECONNECT_SECONDS,
            error_cb=_quiet,
        )
        js = connection.jetstream()
        config = StreamConfig(
            name=self._stream,
            subjects=[f"{self._stream}.>"],
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        try:
            await js.add_stream(config)
        except Exception:  # it exists already (maybe made by another process)
            await js.stream_info(self._stream)
        self._nc, self._js = connection, js

    async def _publish(self, batch: list[Envelope]) -> None:
        """Send the whole batch, in log order, then wait for JetStream's acknowledgements
        together (one round trip each, one after the other, was most of a command's
        publishing time)."""
        await self._connected()
        acks = [
            await self._js.publish_async(
                nats_subject(self._stream, envelope.subject),
                encode(envelope),
                headers={"Nats-Msg-Id": envelope.id},
            )
            for envelope in batch
        ]
        await asyncio.gather(*acks)

    def _run(self, work: Coroutine[Any, Any, T], timeout: float = CONNECT_TIMEOUT_SECONDS * 4) -> T:
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise

    def close(self) -> None:
        if self._nc is not None:
            try:  # every publish was acknowledged already: nothing to drain
                self._run(self._nc.close(), timeout=CONNECT_TIMEOUT_SECONDS)
            except Exception:
                log.debug("NATS connection closed uncleanly", exc_info=True)
        with contextlib.suppress(Exception):
            self._run(_cancel_other_tasks(), timeout=CONNECT_TIMEOUT_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


async def _quiet(error: Exception) -> None:
    """nats-py's default error callback logs a traceback per failed connection attempt."""
    log.debug("NATS: %s", type(error).__name__)


async def _cancel_other_tasks() -> None:
    """nats-py leaves reader tasks behind; ended here, not garbage-collected half-run."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
