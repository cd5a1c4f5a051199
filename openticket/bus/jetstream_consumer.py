"""The consuming side of the JetStream bus: one durable pull consumer per domain, each event
applied in one transaction with its inbox row (jetstream.py's docstring has the whole story)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

from openticket.bus.apply import Outcome, apply_one, apply_run
from openticket.bus.jetstream_publisher import RECONNECT_SECONDS, JetStreamPublisher
from openticket.bus.jetstream_wire import decode
from openticket.core.events import Envelope
from openticket.core.ports import Handler, Recorded
from openticket.store import progress
from openticket.store.locks import is_transient
from openticket.store.uow import Tx

log = logging.getLogger("openticket.bus")

T = TypeVar("T")

# Unacknowledged this long, a message is delivered again (handlers are database-only and
# idempotent, so an early redelivery is harmless). Short, because a nak'd message is now and
# then redelivered only after ack_wait, not after its nak delay (docs/performance.md).
ACK_WAIT_SECONDS = 5.0
STOP_WAIT_SECONDS = 30.0
FETCH_BATCH = 64
RETRY_LATER_SECONDS = 0.5
FAILED_RETRY_SECONDS = 5.0


class JetStreamConsumer(JetStreamPublisher):
    """Applies the stream's events to this process's domains; a consumer publishes what its
    handlers announced, so it is a publisher too."""

    def consume(
        self, stop: threading.Event, after_each: dict[str, Callable[[set[str]], None]] | None = None
    ) -> None:
        """Run every subscribed domain's consumer until `stop` is set. `after_each` maps a
        domain to what to run after each batch it applied events of, given their subjects
        (e.g. settling refunds)."""
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
            filter_subject=self._filter(domain),
        )
        # Made, or brought to this version's filter: a consumer an earlier version made for
        # fewer subjects (payments took only order events) keeps its place in the stream.
        await self._js.add_consumer(self._stream, config)
        return await self._js.pull_subscribe(
            self._filter(domain), durable=durable, stream=self._stream, config=config
        )

    def _filter(self, domain: str) -> str:
        """The stream's subjects a domain's consumer is given: those of the one family its
        handlers are all in (`OPENTICKET.order.>`), else every subject. A consumer that is
        given every event only to ack most of them unread was busy with nothing: each
        reservation's events went to all four workers. A consumer made earlier with another
        filter is given this one when it subscribes; it acks what it has no handler for."""
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
        """Apply a fetched batch in one transaction (`_apply_many`), then ack what was
        applied or seen before, and nak what must come again later."""
        envelopes = [decode(message.data) for message in messages]
        outcomes, applied = await asyncio.to_thread(
            self._apply_and_publish, domain, handlers, envelopes
        )
        for message, outcome in zip(messages, outcomes, strict=True):
            if outcome is None:
                await message.ack()
            else:
                await message.nak(delay=outcome)
        if hook is not None and applied:
            await asyncio.to_thread(hook, applied)

    def _apply_and_publish(
        self, domain: str, handlers: dict[str, Handler], envelopes: list[Envelope]
    ) -> tuple[list[float | None], set[str]]:
        """`_apply_many`, then what the handlers announced goes on at once, unsettled; in one
        hop to a thread (each hop is a handover of the interpreter between threads, and there
        is one batch every few milliseconds)."""
        try:
            outcomes, applied, emitted = self._apply_many(domain, handlers, envelopes)
        except Exception:  # the transaction failed as a whole (e.g. the database is down)
            log.exception("%s could not apply %d events", domain, len(envelopes))
            return [FAILED_RETRY_SECONDS] * len(envelopes), set()
        if emitted != []:
            try:
                self._publish_written(emitted)
            except Exception:  # committed: published later by a worker's pass, acked now
                log.exception("%s could not publish what it emitted", domain)
        return outcomes, applied

    def _apply_many(
        self, domain: str, handlers: dict[str, Handler], envelopes: list[Envelope]
    ) -> tuple[list[float | None], set[str], list[Envelope] | None]:
        """Each event with its inbox row, in one transaction: per event None (applied, seen
        before, or not for this domain: ack it) or the delay before it is offered again; the
        subjects of those applied; the events the handlers emitted (None: too many to hold).

        The batch first runs without savepoints (two round trips each, for every run and
        every single event); should anything be refused or fail, it is undone and run again
        with a savepoint for each, so that one event's failure undoes only that event (the run
        that failed goes event by event at once, not through its batch handler again)."""
        if not any(envelope.subject in handlers for envelope in envelopes):
            return [None] * len(envelopes), set(), []  # none for this domain: no transaction
        try:
            outcomes, subjects, written = self._uow.transact(
                partial(self._apply_all, domain, handlers, envelopes, isolated=False)
            )
        except _Isolate as refused:
            outcomes, subjects, written = self._uow.transact(
                partial(
                    self._apply_all,
                    domain,
                    handlers,
                    envelopes,
                    isolated=True,
                    one_by_one=refused.run,
                )
            )
        return outcomes, subjects, written.take()  # once committed, as a recording takes it

    def _apply_all(
        self,
        domain: str,
        handlers: dict[str, Handler],
        envelopes: list[Envelope],
        tx: Tx,
        *,
        isolated: bool,
        one_by_one: int | None = None,
    ) -> tuple[list[float | None], set[str], Recorded]:
        """`one_by_one`: the index of a run to apply event by event without trying its batch
        handler (the run that failed the batch's first pass)."""
        outcomes: list[float | None] = []
        subjects: set[str] = set()
        done: list[str] = []  # applied now (one applied before was announced then)
        for n, run in enumerate(_runs(envelopes)):
            try:
                batch_applied = (
                    None if n == one_by_one else self._apply_run(tx, domain, run, isolated)
                )
                if batch_applied is not None:
                    outcomes.extend([None] * len(run))
                    done += batch_applied
                    if batch_applied:
                        subjects.add(run[0].subject)
                    continue
                for envelope in run:
                    outcome, count = self._apply_one(tx, domain, handlers, envelope, isolated)
                    outcomes.append(outcome)
                    if count:
                        done.append(envelope.id)
                        subjects.add(envelope.subject)
            except _Isolate as refused:
                refused.run = n
                raise
        if done:  # commands waiting for these learn it, and what they caused
            progress.announce_applied(tx.conn, domain, done, tx.caused)
        return outcomes, subjects, tx.written

    def _apply_run(
        self, tx: Tx, domain: str, run: list[Envelope], isolated: bool
    ) -> list[str] | None:
        """A run of one subject through the domain's batch handler (in one savepoint when
        `isolated`); the ids it applied, or None to apply them one by one instead (no batch
        handler, a single event, or the batch handler refused: RetryLater or a failure, sorted
        out event by event; without a savepoint, by running the batch again isolated)."""
        batch_handler = self._batch_handlers[domain].get(run[0].subject)
        if batch_handler is None or len(run) < 2:
            return None
        try:
            return apply_run(tx, domain, batch_handler, run, inbox=True, isolated=isolated)
        except Exception as error:
            if not isolated:
                raise _Isolate from error
            log.debug("%s: a run of %d %s one by one (%r)", domain, len(run), run[0].subject, error)
            return None

    def _apply_one(
        self,
        tx: Tx,
        domain: str,
        handlers: dict[str, Handler],
        envelope: Envelope,
        isolated: bool,
    ) -> tuple[float | None, int]:
        """One event with its inbox row: (None or the delay before it is offered again,
        1 if applied now). Not `isolated` (no savepoint): _Isolate if refused or failed."""
        handler = handlers.get(envelope.subject)
        if handler is None:
            return None, 0
        tx.cause = envelope.id
        try:
            outcome = apply_one(tx, domain, handler, envelope, isolated=isolated)
        except Exception as error:
            if not isolated:
                raise _Isolate from error
            if is_transient(error):  # a deadlock with another process: offered again soon
                return RETRY_LATER_SECONDS, 0
            log.exception("%s could not apply %s %s", domain, envelope.subject, envelope.id)
            return FAILED_RETRY_SECONDS, 0
        finally:
            tx.cause = None
        if outcome is Outcome.LATER:
            log.debug("%s: %s %s later", domain, envelope.subject, envelope.id)
            return RETRY_LATER_SECONDS, 0
        return None, 1 if outcome is Outcome.APPLIED else 0


class _Isolate(Exception):
    """Abandons a batch run without savepoints (rolling it back), to run it again with them;
    `run`: the index of the run that failed."""

    run: int | None = None


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
