"""How a command's events are delivered (app/commands.py), on fakes of the transaction and
bus ports: in process, delivery takes the same turn of the write lock as the command; through
a broker, it happens after the lock is let go; what follows a delivery sees its subjects."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from openticket.app.commands import Commands
from openticket.core.events import ORDER_CANCELLED, TICKET_UPDATED, Envelope, EventData
from openticket.core.ports import RECORDED_MAX, Recorded


class FakeTransaction:
    """Records what a use case emits (the store's transaction is tested on SQLite)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, tzinfo=UTC)
        self.cause: str | None = None
        self.written = Recorded()
        self.subjects: list[str] = []

    @property
    def emitted(self) -> int:
        return len(self.written.events)

    def emit(self, subject: str, data: EventData) -> Envelope:
        self.subjects.append(subject)
        event = Envelope(f"{self.emitted + 1:032x}", subject, self.now, data, self.emitted + 1)
        self.written.add([event])
        return event

    def emit_many(self, subject: str, payloads: Any, causes: Any = None, **_: Any) -> None:
        for data in payloads:
            self.emit(subject, data)

    def after_commit(self, action: Callable[[], None]) -> None:
        action()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        yield


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.committed: list[list[str]] = []
        self.clock = lambda: datetime(2026, 12, 1, tzinfo=UTC)

    def exclusive(self) -> threading.RLock:
        return self.lock

    @contextmanager
    def write(self) -> Iterator[FakeTransaction]:
        with self.lock:
            tx = FakeTransaction()
            yield tx
            self.committed.append(tx.subjects)

    def transact(self, body: Callable[[FakeTransaction], Any]) -> Any:
        with self.write() as tx:
            return body(tx)

    @contextmanager
    def read(self) -> Iterator[FakeTransaction]:
        yield FakeTransaction()


class RerunningUnitOfWork(FakeUnitOfWork):
    """Undoes each transaction's first run, as PostgreSQL does to a deadlock's victim, and
    runs it again (the store's own rerun is tested on PostgreSQL)."""

    def transact(self, body: Callable[[FakeTransaction], Any]) -> Any:
        with self.lock:
            body(FakeTransaction())  # rolled back: nothing it emitted was committed
        return super().transact(body)


class FakeBus:
    def __init__(self, uow: FakeUnitOfWork, *, in_process: bool) -> None:
        self.delivers_in_process = in_process
        self._uow = uow
        self.calls: list[tuple[bool, bool]] = []  # (known_pending, lock held by the caller)
        self.settle_callbacks: list[Callable[[], None]] = []
        self.waited_for: list[list[Envelope] | None] = []  # `events` of each call

    def publish_pending(
        self,
        *,
        known_pending: bool = False,
        settled: Callable[[], None] | None = None,
        events: list[Envelope] | None = None,
    ) -> set[str]:
        held = self._uow.lock._is_owned()  # type: ignore[attr-defined]
        self.calls.append((known_pending, held))
        self.waited_for.append(events)
        if settled is not None:
            self.settle_callbacks.append(settled)
        return {subject for batch in self._uow.committed for subject in batch}

    def subscribe(self, *args: Any, **kwargs: Any) -> None: ...

    def consume(self, stop: threading.Event, after_each: Any = None) -> None: ...

    def close(self) -> None: ...


@pytest.mark.parametrize("in_process", [True, False])
def test_a_command_s_events_are_delivered_once_it_commits(in_process: bool) -> None:
    uow = FakeUnitOfWork()
    bus = FakeBus(uow, in_process=in_process)
    commands = Commands(uow, bus)
    followed: list[set[str]] = []
    commands.after_delivery = followed.append

    def cancel(tx: FakeTransaction) -> Envelope:
        assert bus.calls == []  # nothing goes out before the commit
        return tx.emit(ORDER_CANCELLED, {"id": "o"})

    event = commands.run("cancel", cancel)
    assert uow.committed == [[ORDER_CANCELLED]]
    assert bus.calls == [(True, in_process)]  # in the lock's turn only when in process
    # what is waited for is the command's own events, whoever publishes them
    assert bus.waited_for == [[event]]
    assert followed == [{ORDER_CANCELLED}]


def test_a_delivery_hands_on_what_its_writes_recorded_once() -> None:
    """A command of several writes (a payment) waits for those; when they were too many to
    hold, or nothing was recorded, the bus hands on whatever is undelivered (None)."""
    uow = FakeUnitOfWork()
    bus = FakeBus(uow, in_process=False)
    commands = Commands(uow, bus)
    with uow.write() as tx:
        paid = tx.emit(TICKET_UPDATED, {"id": "t"})
    recorded, too_many = Recorded(), Recorded()
    recorded.add([paid])
    too_many.add([paid] * (RECORDED_MAX + 1))
    commands.deliver(recorded)
    commands.deliver(recorded)  # taken by the first
    commands.deliver(too_many)
    commands.deliver()
    commands.run("import", lambda tx: tx.emit_many(TICKET_UPDATED, [{}] * (RECORDED_MAX + 1)))
    assert bus.waited_for == [[paid], [], None, None, None]


@pytest.mark.parametrize("in_process", [True, False])
def test_a_command_given_settled_hands_it_to_the_delivery_of_its_own_events(
    in_process: bool,
) -> None:
    """A server's reservation writer does not wait for the consumers: the bus calls it back."""
    uow = FakeUnitOfWork()
    bus = FakeBus(uow, in_process=in_process)
    commands = Commands(uow, bus)
    called: list[str] = []

    def settled() -> None:
        called.append("settled")

    reserve = lambda tx: tx.emit(TICKET_UPDATED, {"id": "t"})  # noqa: E731
    commands.run("reserve", reserve, current_replicas=True, settled=settled)
    assert bus.settle_callbacks == [settled]  # the delivery after the commit, not a catch-up
    assert len(bus.calls) == (2 if in_process else 1)
    assert called == []  # the bus calls it, when its consumers are done


def test_a_reservation_delivers_what_is_pending_first_in_the_same_turn_of_the_lock() -> None:
    uow = FakeUnitOfWork()
    bus = FakeBus(uow, in_process=True)
    commands = Commands(uow, bus)

    def reserve(tx: FakeTransaction) -> None:
        assert bus.calls == [(False, True)]  # the replicas were brought up to date, locked
        tx.emit(TICKET_UPDATED, {"id": "t"})

    commands.run("reserve", reserve, current_replicas=True)
    assert bus.calls == [(False, True), (True, True)]


def test_on_a_broker_a_reservation_neither_waits_for_pending_events_nor_holds_the_lock() -> None:
    uow = FakeUnitOfWork()
    bus = FakeBus(uow, in_process=False)
    commands = Commands(uow, bus)
    commands.run("reserve", lambda tx: tx.emit(TICKET_UPDATED, {"id": "t"}), current_replicas=True)
    assert bus.calls == [(True, False)]


def test_a_failed_command_delivers_nothing() -> None:
    uow = FakeUnitOfWork()
    bus = FakeBus(uow, in_process=True)
    commands = Commands(uow, bus)

    def update(tx: FakeTransaction) -> None:
        tx.emit(TICKET_UPDATED, {"id": "t"})
        raise ValueError("refused")

    with pytest.raises(ValueError):
        commands.run("update", update)
    assert uow.committed == [] and bus.calls == []


def test_a_command_run_again_after_a_deadlock_waits_for_its_last_run_s_events_only() -> None:
    uow = RerunningUnitOfWork()
    bus = FakeBus(uow, in_process=False)
    commands = Commands(uow, bus)
    runs: list[int] = []

    def cancel(tx: FakeTransaction) -> Envelope:
        runs.append(len(runs) + 1)
        return tx.emit(ORDER_CANCELLED, {"run": runs[-1]})

    event = commands.run("cancel", cancel)
    assert runs == [1, 2] and event.data == {"run": 2}
    assert bus.waited_for == [[event]]  # not the undone run's event, never committed
