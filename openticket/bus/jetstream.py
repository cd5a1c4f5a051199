"""The NATS JetStream bus (`OPENTICKET_BUS=nats://host:4222`): domains in different processes.

Publishing: the outbox is the source of truth. After each command (and in a worker's loop, for
what a process that died left behind) the unpublished rows are published in log order, each
with its event id as `Nats-Msg-Id`, so JetStream drops the copy another process publishes
too; a row is marked published only after JetStream acknowledged it.

Consuming: one durable pull consumer per domain with explicit acks, over every subject of the
stream (a domain acks what it has no handler for). An event is applied in one transaction
with an inbox row (consumer, event id), so a redelivery (a crash between commit and ack, or
after `ack_wait`) is applied once. A handler that cannot apply an event yet (RetryLater: an
order version ahead of the one it knows) has it redelivered later with a nak and a delay, as
the original's listeners did; one that fails is retried likewise, with a longer delay.
Handlers run in a worker thread, never on the event loop.

Read your writes: a command that published events waits (up to SETTLE_SECONDS) until every
consumer that handles them, and the events those consumers announced in turn (found by their
`caused_by`, so another server's events written meanwhile are not waited for), has applied
them, so `orders create` returns once the ticket shows as reserved. Past the bound it returns
anyway: what it did is committed, the replicas follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from openticket.core.errors import RetryLater
from openticket.core.events import Envelope
from openticket.core.ports import BatchHandler, Handler
from openticket.store import outbox
from openticket.store.uow import Tx, UnitOfWork

log = logging.getLogger("openticket.bus")

T = TypeVar("T")

PUBLISH_CHUNK = 500
# Unacknowledged this long, a message is delivered again (handlers are database-only and
# idempotent, so an early redelivery is harmless). Short, because a nak'd message is now and
# then redelivered only after ack_wait, not after its nak delay (docs/performance.md).
ACK_WAIT_SECONDS = 5.0
STOP_WAIT_SECONDS = 30.0
FETCH_BATCH = 64
RETRY_LATER_SECONDS = 0.5
FAILED_RETRY_SECONDS = 5.0
DUPLICATE_WINDOW_SECONDS = 24 * 3600.0
SETTLE_SECONDS = 10.0
# Consumers usually apply a command's events within milliseconds: look again soon, then
# less and less often.
SETTLE_FIRST_POLL_SECONDS = 0.005
SETTLE_POLL_SECONDS = 0.05
SETTLE_MAX_EVENTS = 1000  # a bulk import does not wait for its replicas
CONNECT_TIMEOUT_SECONDS = 2.0
# Tries per connection before it is given up; a worker then makes a new one. A command whose
# events cannot be published leaves them to the next command or a worker, after ~1 s.
RECONNECT_ATTEMPTS = 2
RECONNECT_SECONDS = 0.5
PUBLISH_PAUSE_SECONDS = 5.0


def nats_subject(stream: str, subject: str) -> str:
    """`ticket:created` -> `OPENTICKET.ticket.created`."""
    return f"{stream}.{subject.replace(':', '.')}"


def encode(envelope: Envelope) -> bytes:
    return json.dumps(
        {
            "id": envelope.id,
            "subject": envelope.subject,
            "occurred_at": envelope.occurred_at.isoformat(),
            "seq": envelope.sequence,
            "data": envelope.data,
        },
        separators=(",", ":"),
    ).encode()


def decode(payload: bytes) -> Envelope:
    body = json.loads(payload)
    return Envelope(
        body["id"], body["subject"], datetime.fromisoformat(body["occurred_at"]), body["data"],
        int(body["seq"]),
    )  # fmt: skip


class JetStreamBus:
    # Publishing and waiting for consumers happen outside the store's write lock.
    delivers_in_process = False

    def __init__(
        self,
        uow: UnitOfWork,
        url: str,
        stream: str,
        consumers_of: dict[str, set[str]] | None = None,
    ) -> None:
        """`consumers_of`: which consumers, in any process, handle each subject (a command
        waits for them); by default those subscribed in this process."""
        self._uow = uow
        self._consumers_of = consumers_of
        self._url = url
        self._stream = stream
        self._handlers: dict[str, dict[str, Handler]] = defaultdict(dict)
        self._batch_handlers: dict[str, dict[str, BatchHandler]] = defaultdict(dict)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="openticket-nats")
        self._thread.daemon = True
        self._thread.start()
        self._nc: Any = None
        self._js: Any = None
        self._publish_paused_until = 0.0

    # -- the EventBus port ------------------------------------------------------------------
    def subscribe(
        self,
        consumer: str,
        subject: str,
        handler: Handler,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self._handlers[consumer][subject] = handler
        if batch_handler is not None:
            self._batch_handlers[consumer][subject] = batch_handler

    def publish_pending(self, *, known_pending: bool = False) -> set[str]:
        """A command's hand-over: publish, then wait for the consumers (module docstring)."""
        handed_on: list[tuple[str, str]] = []
        published = self._publish_unpublished(handed_on)
        if handed_on:
            self._settle(handed_on)
        return published

    def _settle(self, events: list[tuple[str, str]]) -> None:
        """Wait until every consumer applied these (event id, subject) and what applying
        them emitted in turn (their `caused_by`), not for other commands' events."""
        if len(events) > SETTLE_MAX_EVENTS:
            return
        consumers_of = self._consumers_of
        if consumers_of is None:
            consumers_of = defaultdict(set)
            for consumer, handlers in self._handlers.items():
                for subject in handlers:
                    consumers_of[subject].add(consumer)
        deadline = time.monotonic() + SETTLE_SECONDS
        pause = SETTLE_FIRST_POLL_SECONDS
        while time.monotonic() < deadline:
            if not self._waiting(events, consumers_of):
                return
            time.sleep(pause)
            pause = min(pause * 2, SETTLE_POLL_SECONDS)
        log.debug("consumers still catching up after %s s", SETTLE_SECONDS)

    def _waiting(self, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]) -> bool:
        """Whether some consumer has yet to apply one of these published events, or one of
        those their handlers emitted (a handler's events commit with its inbox row, so the
        next generation is complete once this one is applied)."""
        generation = [(event_id, subject, True) for event_id, subject in events]
        seen = 0
        with self._uow.read() as tx:
            while generation:
                ids = [event_id for event_id, _, _ in generation]
                done = outbox.processed(tx.conn, ids)
                if any(
                    not handed_on or (consumer, event_id) not in done
                    for event_id, subject, handed_on in generation
                    for consumer in consumers_of.get(subject, ())
                ):
                    return True
                seen += len(generation)
                if seen > SETTLE_MAX_EVENTS:
                    return False
                generation = outbox.caused_by(tx.conn, ids)
        return False

    def _publish_unpublished(self, handed_on: list[tuple[str, str]] | None = None) -> set[str]:
        """Publish every unpublished outbox row; the subjects published (`handed_on` gets the
        (event id, subject) of each). When NATS cannot be reached the rows stay
        unpublished (the command itself has committed) and the next command or a worker
        publishes them."""
        published: set[str] = set()
        if time.monotonic() < self._publish_paused_until:
            return published  # NATS failed a moment ago: do not make every call wait
        while True:
            try:
                with self._claimed() as (batch, mark_published):
                    if not batch:
                        return published
                    try:
                        self._run(self._publish(batch))
                    except Exception as error:
                        log.warning("events not published yet (NATS: %s)", type(error).__name__)
                        self._publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
                        return published
                    mark_published()
            except DBAPIError as error:
                # The command has committed; its rows are published again later (JetStream
                # drops the copies), by the next command or a worker.
                log.warning("events not marked published yet (%s)", type(error.orig).__name__)
                return published
            published.update(e.subject for e in batch)
            if handed_on is not None:
                handed_on.extend((e.id, e.subject) for e in batch)
            if len(batch) < PUBLISH_CHUNK:
                return published

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

    # -- consuming ----------------------------------------------------------------------------
    def consume(self, stop: threading.Event, after_each: dict[str, Any] | None = None) -> None:
        """Run every subscribed domain's consumer until `stop` is set. `after_each` maps a
        domain to a callable run after each event it applied (e.g. settling refunds)."""
        hooks = after_each or {}
        self._run(self._connected())
        futures = [
            asyncio.run_coroutine_threadsafe(
                self._consume(domain, handlers, stop, hooks.get(domain)), self._loop
            )
            for domain, handlers in self._handlers.items()
        ]
        stop.wait()
        for future in futures:
            future.result(timeout=STOP_WAIT_SECONDS)

    async def _consume(
        self, domain: str, handlers: dict[str, Handler], stop: threading.Event, hook: Any
    ) -> None:
        """Fetch and apply until `stop`; a lost connection is made again (NATS restarted)."""
        while not stop.is_set():
            try:
                subscription = await self._subscribe(domain)
            except Exception as error:
                log.warning("%s consumer: NATS unavailable (%s)", domain, type(error).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            await self._fetch_until_lost(domain, subscription, handlers, stop, hook)

    async def _subscribe(self, domain: str) -> Any:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        await self._connected()
        durable = f"{self._stream}-{domain}"
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT_SECONDS,
        )
        return await self._js.pull_subscribe(
            self._filter(domain), durable=durable, stream=self._stream, config=config
        )

    def _filter(self, domain: str) -> str:
        """The stream's subjects a domain's consumer is given: those of the one family its
        handlers are all in (`OPENTICKET.order.>`), else every subject. A consumer that is
        given every event only to ack most of them unread was busy with nothing: each
        reservation's events went to all four workers. (A consumer made earlier keeps the
        filter it was made with; it still acks what it has no handler for.)"""
        families = {subject.split(":", 1)[0] for subject in self._handlers[domain]}
        if len(families) == 1:
            return f"{self._stream}.{families.pop()}.>"
        return f"{self._stream}.>"

    async def _fetch_until_lost(
        self,
        domain: str,
        subscription: Any,
        handlers: dict[str, Handler],
        stop: threading.Event,
        hook: Any,
    ) -> None:
        import nats.errors

        while not stop.is_set():
            if self._nc is None or self._nc.is_closed:
                return  # subscribe again on a new connection
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                continue  # nothing new
            except Exception as error:  # reconnecting, or closed
                log.debug("%s consumer: fetch failed (%s)", domain, type(error).__name__)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            try:
                await self._handle(domain, handlers, messages, hook)
            except Exception:  # e.g. the connection dropped while acking: they come again
                log.exception("%s consumer: a batch of %d failed", domain, len(messages))
                await asyncio.sleep(RECONNECT_SECONDS)

    async def _handle(
        self, domain: str, handlers: dict[str, Handler], messages: list[Any], hook: Any
    ) -> None:
        """Apply a fetched batch in one transaction (each event in a savepoint of its own),
        then ack what was applied or seen before, and nak what must come again later."""
        envelopes = [decode(message.data) for message in messages]
        try:
            outcomes, applied, emitted = await asyncio.to_thread(
                self._apply_many, domain, handlers, envelopes
            )
        except Exception:  # the transaction failed as a whole (e.g. the database is down)
            log.exception("%s could not apply %d events", domain, len(envelopes))
            outcomes, applied, emitted = [FAILED_RETRY_SECONDS] * len(envelopes), 0, False
        for message, outcome in zip(messages, outcomes, strict=True):
            if outcome is None:
                await message.ack()
            else:
                await message.nak(delay=outcome)
        if emitted:  # what the handlers announced goes on at once, unsettled
            await asyncio.to_thread(self._publish_unpublished)
        if hook is not None and applied:
            await asyncio.to_thread(hook)

    def _apply_many(
        self, domain: str, handlers: dict[str, Handler], envelopes: list[Envelope]
    ) -> tuple[list[float | None], int, bool]:
        """Each event with its inbox row, in one transaction: per event None (applied, seen
        before, or not for this domain: ack it) or the delay before it is offered again; how
        many were applied; whether the handlers emitted events."""
        outcomes: list[float | None] = []
        applied = 0
        if not any(envelope.subject in handlers for envelope in envelopes):
            return [None] * len(envelopes), 0, False  # none for this domain: no transaction
        with self._uow.write() as tx:
            for run in _runs(envelopes):
                batch_applied = self._apply_run(tx, domain, run)
                if batch_applied is not None:
                    outcomes.extend([None] * len(run))
                    applied += batch_applied
                    continue
                for envelope in run:
                    outcome, count = self._apply_one(tx, domain, handlers, envelope)
                    outcomes.append(outcome)
                    applied += count
        return outcomes, applied, tx.emitted > 0

    def _apply_run(self, tx: Tx, domain: str, run: list[Envelope]) -> int | None:
        """A run of one subject through the domain's batch handler, in one savepoint; how many
        it applied, or None to apply them one by one instead (no batch handler, a single event,
        or the batch handler refused: RetryLater or a failure, sorted out event by event)."""
        batch_handler = self._batch_handlers[domain].get(run[0].subject)
        if batch_handler is None or len(run) < 2:
            return None
        try:
            with tx.savepoint():
                fresh = outbox.claim_many(tx.conn, domain, [e.id for e in run], tx.now)
                todo = [envelope for envelope in run if envelope.id in fresh]
                if todo:
                    batch_handler(todo, tx)
        except Exception as error:
            log.debug("%s: a run of %d %s one by one (%r)", domain, len(run), run[0].subject, error)
            return None
        return len(todo)

    def _apply_one(
        self, tx: Tx, domain: str, handlers: dict[str, Handler], envelope: Envelope
    ) -> tuple[float | None, int]:
        handler = handlers.get(envelope.subject)
        if handler is None:
            return None, 0
        tx.cause = envelope.id
        try:
            with tx.savepoint():
                if not outbox.claim(tx.conn, domain, envelope.id, tx.now):
                    return None, 0
                handler(envelope, tx)
            return None, 1
        except RetryLater as waiting:
            log.debug("%s: %s later: %s", domain, envelope.subject, waiting)
            return RETRY_LATER_SECONDS, 0
        except Exception:
            log.exception("%s could not apply %s %s", domain, envelope.subject, envelope.id)
            return FAILED_RETRY_SECONDS, 0
        finally:
            tx.cause = None

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


def _runs(envelopes: list[Envelope]) -> Iterator[list[Envelope]]:
    """Consecutive events of one subject, together."""
    run: list[Envelope] = []
    for envelope in envelopes:
        if run and envelope.subject != run[0].subject:
            yield run
            run = []
        run.append(envelope)
    if run:
        yield run


async def _quiet(error: Exception) -> None:
    """nats-py's default error callback logs a traceback per failed connection attempt."""
    log.debug("NATS: %s", type(error).__name__)


async def _cancel_other_tasks() -> None:
    """nats-py leaves reader tasks behind; ended here, not garbage-collected half-run."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
