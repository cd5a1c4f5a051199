"""The NATS JetStream bus (`OPENTICKET_BUS=nats://host:4222`): domains in different processes.

Publishing: the outbox is the source of truth. After each command, and after each consumer
batch whose handlers emitted, the events that transaction wrote are published as written;
a worker's loop publishes, in log order, what is left (a process that died, NATS down). Each
goes with its event id as `Nats-Msg-Id`, so JetStream drops the copy another process
publishes too; a row is marked published only after JetStream acknowledged it.

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
anyway: what it did is committed, the replicas follow. One waiter per process looks for every
waiting command, woken by the consumers' announcements (jetstream_settle.py); a caller that
must not block on it (a server's reservation writer) is called back by that waiter instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from openticket.bus.jetstream_consumer import JetStreamConsumer
from openticket.bus.jetstream_settle import Settler
from openticket.core.events import Envelope
from openticket.store.uow import UnitOfWork


class JetStreamBus(JetStreamConsumer):
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
        super().__init__(uow, url, stream)
        self._consumers_of = consumers_of
        self._settler = Settler(uow)

    def publish_pending(
        self,
        *,
        known_pending: bool = False,
        settled: Callable[[], None] | None = None,
        events: list[Envelope] | None = None,
    ) -> set[str]:
        """A command's hand-over: publish, then wait for the consumers (module docstring), or
        have the process's waiter call `settled` when they are done. Given the command's
        `events`, those are published as they are, without reading the outbox, and waited
        for whichever process's copy reaches the consumers first (a worker's catch-up may
        send them too); should NATS refuse them here, the command does not wait (they stay
        in the outbox for a later publisher)."""
        handed_on = self._publish_written(events)
        waited = [(event.id, event.subject) for event in handed_on]
        if settled is not None:
            self._settler.then(waited, self._consumers(), settled)
        elif waited:
            self._settler.settle(waited, self._consumers())
        return {event.subject for event in handed_on}

    def _consumers(self) -> dict[str, set[str]]:
        consumers_of = self._consumers_of
        if consumers_of is None:
            consumers_of = defaultdict(set)
            for consumer, handlers in self._handlers.items():
                for subject in handlers:
                    consumers_of[subject].add(consumer)
        return consumers_of

    def close(self) -> None:
        self._settler.close()
        super().close()
