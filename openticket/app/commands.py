"""Running a command: its transaction, the events it wrote, and their delivery.

The one place that knows how events are delivered. In process, the command and the delivery
of its events take one turn of the store's write lock (a server's request threads queue for it
once per command, not twice). Through a broker, publishing and waiting for the consumers
happen after the lock is let go. What follows a delivery (refunds an ended order may owe) is
the runtime's `after_delivery`, run with no lock held: it calls the payment provider.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from openticket.app.ports import EventBus
from openticket.core import faults
from openticket.core.ports import Recorded, Transaction, UnitOfWork

T = TypeVar("T")


def _decided(name: str, tx: Transaction, result: T, run_written: list[Recorded]) -> T:
    faults.point(f"{name}:decided")  # all written, nothing committed yet
    run_written[:] = [tx.written]  # this run's: a run the database undid has its own
    return result


class Commands:
    def __init__(self, uow: UnitOfWork, bus: EventBus) -> None:
        self._uow = uow
        self._bus = bus
        self.after_delivery: Callable[[set[str]], None] = lambda _subjects: None

    @property
    def delivers_in_process(self) -> bool:
        return self._bus.delivers_in_process

    def run(
        self,
        name: str,
        body: Callable[[Transaction], T],
        *,
        current_replicas: bool = False,
        settled: Callable[[], None] | None = None,
    ) -> T:
        """`body` as a write whose events are delivered once it commits; run again from the
        start if the database undid it for a deadlock. `current_replicas`: after every event
        committed before it is applied (a reservation reads the orders domain's ticket
        replicas); in process that delivery takes the same turn of the lock, a broker's
        consumers keep their replicas current on their own. `settled`: return once the events
        are handed on, and have it called when their consumers applied them (EventBus). What
        is waited for is the events this command wrote, whichever process hands them on
        (should it write more than RECORDED_MAX, whatever is undelivered is handed on)."""
        delivered: set[str] = set()
        run_written: list[Recorded] = []
        in_process = self._bus.delivers_in_process
        faults.point(f"{name}:starting")  # caught up, nothing written yet
        with self._uow.exclusive():
            if current_replicas and in_process:
                self._bus.publish_pending()
            result = self._uow.transact(lambda tx: _decided(name, tx, body(tx), run_written))
            faults.point(f"{name}:committed")  # a crash here leaves the events to deliver
            deliver = partial(
                self._bus.publish_pending,
                known_pending=True,
                settled=settled,
                events=run_written[0].take(),
            )
            if in_process:
                delivered = deliver()
        if not in_process:
            delivered = deliver()
        self.after_delivery(delivered)
        return result

    def deliver(self, recorded: Recorded | None = None) -> None:
        """Deliver the events of writes that just committed. Given a `recording` block's,
        those (taken out of it, so that a later call does not send them again), waited for
        whichever process hands them on, as `run` does; without, or when the block held too
        many to keep, whatever is undelivered (only what this call hands on is waited for)."""
        events = None if recorded is None else recorded.take()
        self.after_delivery(self._bus.publish_pending(known_pending=True, events=events))

    def deliver_leftovers(self) -> set[str]:
        """Deliver what is undelivered, without what follows (the runtime's catch-up)."""
        return self._bus.publish_pending(known_pending=True)
