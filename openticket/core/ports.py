"""What the domains need from outside, as protocols: a transaction to work in, a unit of work
that opens them, and the shape of an event reaction. `store/` implements them; a domain's
`repository.py` is the one place that reaches the SQL connection behind a transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from openticket.core.clock import Clock
from openticket.core.events import Envelope, EventData

T = TypeVar("T")


class Transaction(Protocol):
    """An open transaction: what a use case or handler changes commits with its events."""

    now: datetime  # the clock's reading when it began: one "now" for the whole change
    cause: str | None  # the id of the event being handled, when a broker delivered it
    written: Recorded  # the events it emitted (less what a savepoint undid), up to a cap

    @property
    def emitted(self) -> int:
        """How many events are recorded so far."""
        ...

    def emit(self, subject: str, data: EventData) -> Envelope:
        """Record an event in the outbox, in this transaction."""
        ...

    def emit_many(
        self, subject: str, payloads: Sequence[EventData], causes: list[str] | None = None
    ) -> None:
        """`emit` for many events of one subject (`causes`: the event each answers)."""
        ...

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the transaction has committed (effects outside the database)."""
        ...

    def emits_deferred(self) -> AbstractContextManager[None]:
        """The events emitted inside are written together when it ends (none if it raises)."""
        ...

    def savepoint(self) -> AbstractContextManager[None]:
        """What runs inside is undone, alone, if it raises."""
        ...

    def failed(self) -> bool:
        """Whether a statement failed outside a savepoint (PostgreSQL then refuses every
        further statement until the transaction rolls back)."""
        ...


# More events than a command waits for (a bulk import's): not held, so that memory does not
# grow with an import's size (the JetStream waiter does not wait for so many either:
# bus/jetstream_settle.SETTLE_MAX_EVENTS is this).
RECORDED_MAX = 1000


@dataclass
class Recorded:
    """Events committed or about to be: a transaction's (`Transaction.written`), or a thread's
    writes' during a `recording` block, held until a delivery takes them. `whole` is False
    once more than RECORDED_MAX arrived between two takes; none are held from then on, and
    a delivery hands on whatever is undelivered instead."""

    events: list[Envelope] = field(default_factory=list)
    whole: bool = True

    def add(self, events: Sequence[Envelope], *, whole: bool = True) -> None:
        """`whole`: False when these come from a record that did not hold all of its own."""
        if whole and self.whole and len(self.events) + len(events) <= RECORDED_MAX:
            self.events += events
        else:
            self.whole = False
            self.events.clear()

    def undo_after(self, held: int) -> None:
        """Forget what came after the first `held` events (a savepoint undid it)."""
        del self.events[held:]

    def take(self) -> list[Envelope] | None:
        """The events held since the last take, or None when not all were held."""
        taken, self.events = self.events, []
        return taken if self.whole else None


class UnitOfWork(Protocol):
    """Opens transactions; use cases that span several (a charge between two) take this."""

    clock: Clock

    def read(self) -> AbstractContextManager[Transaction]: ...

    def write(self) -> AbstractContextManager[Transaction]: ...

    def transact(self, body: Callable[[Transaction], T]) -> T:
        """`body` in a write transaction, run again when the database undid it for a
        deadlock (what it does must stay inside the transaction until it commits)."""
        ...

    def exclusive(self) -> AbstractContextManager[object]:
        """This process's write lock, held across several transactions of one thread."""
        ...

    def recording(self, into: Recorded | None = None) -> AbstractContextManager[Recorded]:
        """The events this thread's writes commit while the block lasts (a command made of
        several writes waits for exactly those)."""
        ...


Handler = Callable[[Envelope, Transaction], None]
"""An event reaction: applies one event inside the consumer's transaction."""

BatchHandler = Callable[[list[Envelope], Transaction], None]
"""The same reaction for a run of events of one subject at once (an optimisation with exactly
the effect of the Handler applied to each in turn: tests/integration/test_batch_handlers.py)."""
