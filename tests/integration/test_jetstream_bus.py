"""The NATS JetStream bus against a real nats-server: publishing is de-duplicated by event id,
a redelivered event is applied once, and an early order version waits for its turn."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import select

from openticket.bus import jetstream_settle
from openticket.bus.jetstream import JetStreamBus
from openticket.bus.jetstream_settle import waiting
from openticket.core.clock import utc_now
from openticket.core.errors import RetryLater
from openticket.core.events import Envelope
from openticket.core.ports import RECORDED_MAX
from openticket.store import outbox, outbox_log, progress
from openticket.store.db import create_store_engine
from openticket.store.migrate import ensure_schema
from openticket.store.uow import Tx, UnitOfWork
from tests.conftest import eventually, service_missing

NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture
def stream() -> Iterator[str]:
    try:
        socket.create_connection(("127.0.0.1", 4222), timeout=2).close()
    except OSError as error:
        service_missing(f"NATS is not reachable at 127.0.0.1:4222: {error}")
    name = f"OT_TEST_{uuid.uuid4().hex[:12].upper()}"
    yield name

    async def delete() -> None:
        connection = await nats.connect(NATS_URL)
        with contextlib.suppress(Exception):
            await connection.jetstream().delete_stream(name)
        await connection.close()

    asyncio.run(delete())


@pytest.fixture
def uow(tmp_path: Path) -> UnitOfWork:
    engine = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
    ensure_schema(engine)
    return UnitOfWork(engine, utc_now)


def _emit(uow: UnitOfWork, subject: str, data: dict[str, Any]) -> None:
    with uow.write() as tx:
        tx.emit(subject, data)


def _stream_messages(name: str) -> int:
    async def count() -> int:
        connection = await nats.connect(NATS_URL)
        info = await connection.jetstream().stream_info(name)
        await connection.close()
        return int(info.state.messages)

    return asyncio.run(count())


@contextlib.contextmanager
def consuming(bus: JetStreamBus) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=bus.consume, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


def test_an_event_published_twice_is_stored_once(uow: UnitOfWork, stream: str) -> None:
    first, second = JetStreamBus(uow, NATS_URL, stream), JetStreamBus(uow, NATS_URL, stream)
    try:
        for n in range(5):
            _emit(uow, "ticket:created", {"n": n})
        assert first.publish_pending() == {"ticket:created"}
        with uow.write() as tx:  # a process published, then died before marking the rows
            tx.conn.execute(outbox.outbox.update().values(delivered_at=None))
        assert second.publish_pending() == {"ticket:created"}
        assert _stream_messages(stream) == 5
        with uow.read() as tx:
            assert not outbox.has_pending(tx.conn)
    finally:
        first.close()
        second.close()


def test_a_redelivered_event_is_applied_once(uow: UnitOfWork, stream: str) -> None:
    applied: list[str] = []

    def handler(envelope: Envelope, tx: Tx) -> None:
        applied.append(envelope.id)

    bus = JetStreamBus(uow, NATS_URL, stream)
    bus.subscribe("tickets", "order:created", handler)
    try:
        _emit(uow, "order:created", {"n": 1})
        with uow.read() as tx:
            [envelope] = outbox_log.read_log(tx.conn, 0, 10)
        # The consumer applied and committed it, then died before acknowledging it.
        assert bus._apply_many("tickets", {"order:created": handler}, [envelope])[:2] == (
            [None],
            {"order:created"},
        )
        bus.publish_pending()
        with consuming(bus):
            eventually(lambda: _acknowledged(stream, "tickets") == 1)
        assert applied == [envelope.id]  # the redelivery found the inbox row
    finally:
        bus.close()


def test_what_a_consumer_emitted_goes_out_even_when_too_many_to_hold(
    uow: UnitOfWork, stream: str
) -> None:
    """A batch's own events are published as written; when there are more than a transaction
    holds (RECORDED_MAX), what is unpublished is, all of them."""

    def fan_out(envelope: Envelope, tx: Tx) -> None:
        tx.emit_many("watch:matched", [{"n": n} for n in range(RECORDED_MAX + 1)])

    bus = JetStreamBus(uow, NATS_URL, stream)
    try:
        _emit(uow, "ticket:created", {"n": 0})
        with uow.read() as tx:
            [envelope] = outbox_log.read_log(tx.conn, 0, 10)
        applied = bus._apply_and_publish("notify", {"ticket:created": fan_out}, [envelope])
        assert applied == ([None], {"ticket:created"})
        with uow.read() as tx:
            assert not outbox.has_pending(tx.conn)
        assert _stream_messages(stream) == RECORDED_MAX + 2  # and the event it applied
    finally:
        bus.close()


def test_an_early_version_waits_for_its_turn(uow: UnitOfWork, stream: str) -> None:
    seen: list[int] = []

    def handler(envelope: Envelope, tx: Tx) -> None:
        version = int(envelope.data["version"])
        if version != len(seen):
            raise RetryLater(f"version {version} before {len(seen)}")
        seen.append(version)

    bus = JetStreamBus(uow, NATS_URL, stream)
    bus.subscribe("orders", "ticket:updated", handler)
    try:
        for version in (2, 0, 1):  # published out of order
            _emit(uow, "ticket:updated", {"version": version})
        with consuming(bus):
            bus.publish_pending()
            # Its wait for the consumer is bounded, and retries back off: on a loaded
            # machine the last version may come after it returned.
            eventually(lambda: len(seen) == 3, what="all three versions")
            assert seen == [0, 1, 2]
    finally:
        bus.close()


def test_a_failing_event_neither_undoes_nor_blocks_the_rest_of_its_batch(
    uow: UnitOfWork, stream: str
) -> None:
    """A consumer applies what it fetched in one transaction; when an event's handler fails,
    the batch is run again with each event in a savepoint: the failing event is rolled back
    alone and comes again; the others stay applied, each once."""
    applied: list[int] = []  # committed, not merely attempted
    failures: list[int] = []

    def handler(envelope: Envelope, tx: Tx) -> None:
        n = int(envelope.data["n"])
        _emit_in(tx, n)  # a write that must vanish with a failed attempt
        if n == 2 and len(failures) < 2:  # the batch's first run, then its isolated one
            failures.append(n)
            raise RuntimeError("the first attempts at event 2 fail")
        tx.after_commit(lambda: applied.append(n))

    bus = JetStreamBus(uow, NATS_URL, stream)
    bus.subscribe("tickets", "order:created", handler)
    try:
        for n in range(5):
            _emit(uow, "order:created", {"n": n})
        bus._publish_unpublished()
        with consuming(bus):
            eventually(lambda: len(applied) == 5)
        assert sorted(applied) == [0, 1, 2, 3, 4]  # each once
        assert failures == [2, 2]
        assert applied == [0, 1, 3, 4, 2]  # the others committed while event 2 waited
        with uow.read() as tx:
            written = tx.conn.execute(
                select(outbox.outbox.c.data).where(outbox.outbox.c.subject == "ticket:updated")
            ).scalars()
            assert sorted(int(data["n"]) for data in written) == [0, 1, 2, 3, 4]
    finally:
        bus.close()


def _emit_in(tx: Tx, n: int) -> None:
    tx.emit("ticket:updated", {"n": n})


def _acknowledged(stream: str, domain: str) -> int:
    async def floor() -> int:
        connection = await nats.connect(NATS_URL)
        try:
            info = await connection.jetstream().consumer_info(stream, f"{stream}-{domain}")
        except nats.js.errors.NotFoundError:
            return 0  # the consumer is not made yet
        finally:
            await connection.close()
        return int(info.ack_floor.stream_seq)

    return asyncio.run(floor())


def test_an_unreachable_nats_leaves_events_for_later(uow: UnitOfWork, stream: str) -> None:
    port_without_nats = f"nats://127.0.0.1:{_free_port()}"
    down = JetStreamBus(uow, port_without_nats, stream)
    try:
        _emit(uow, "ticket:created", {"n": 1})
        assert down.publish_pending() == set()
    finally:
        down.close()
    with uow.read() as tx:
        assert outbox.has_pending(tx.conn)  # committed, not published, not lost
    up = JetStreamBus(uow, NATS_URL, stream)
    try:
        assert up.publish_pending() == {"ticket:created"}
        assert _stream_messages(stream) == 1
    finally:
        up.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_publishers_on_postgresql_take_disjoint_rows(postgres_url: str, stream: str) -> None:
    """Two processes publishing at once each marked the other's rows and deadlocked (a 500 for
    the command whose events they were). Rows one publisher holds are skipped by the others,
    and eight racing publishers leave every event published exactly once."""
    engine = create_store_engine(postgres_url)
    ensure_schema(engine)
    store = UnitOfWork(engine, utc_now)
    for n in range(6):
        _emit(store, "ticket:created", {"n": n})
    with engine.begin() as holder:
        held = outbox.claim_unpublished(holder, 4)
        with engine.begin() as other:
            other.exec_driver_sql("SET LOCAL lock_timeout = '5s'")  # fail, not hang, if it waits
            rest = outbox.claim_unpublished(other, 10)
        assert [e.data["n"] for e in held] == [0, 1, 2, 3]
        assert [e.data["n"] for e in rest] == [4, 5]

    for n in range(6, 400):
        _emit(store, "ticket:created", {"n": n})
    buses = [JetStreamBus(store, NATS_URL, stream) for _ in range(8)]
    failures: list[BaseException] = []

    def publish(bus: JetStreamBus) -> None:
        try:
            bus.publish_pending()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=publish, args=(bus,)) for bus in buses]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        with store.read() as tx:
            assert not outbox.has_pending(tx.conn)
        assert _stream_messages(stream) == 400
    finally:
        for bus in buses:
            bus.close()
        engine.dispose()


def test_a_command_waits_for_the_consequences_of_its_own_events_only(
    uow: UnitOfWork, stream: str
) -> None:
    """Settling follows `caused_by` from a command's events to what handling them emitted;
    an event another server wrote meanwhile, still unapplied, does not hold it up."""
    consumers_of = {"order:created": {"tickets"}, "ticket:updated": {"orders"}}
    bus = JetStreamBus(uow, NATS_URL, stream, consumers_of)
    try:
        with uow.write() as tx:
            own = tx.emit("order:created", {"n": 1})
            tx.emit("ticket:updated", {"unrelated": True})  # another command's, never applied
        ours = [(own.id, own.subject)]
        assert waiting(uow, ours, consumers_of)  # tickets has not applied it yet

        with uow.write() as tx:  # tickets applies it, and announces a consequence
            assert outbox.claim(tx.conn, "tickets", own.id, tx.now)
            tx.cause = own.id
            consequence = tx.emit("ticket:updated", {"n": 1})
        assert waiting(uow, ours, consumers_of)  # orders has not applied the consequence yet

        with uow.write() as tx:
            assert outbox.claim(tx.conn, "orders", consequence.id, tx.now)
        assert not waiting(uow, ours, consumers_of)  # the unrelated event does not count
    finally:
        bus.close()


@pytest.mark.parametrize(
    ("numbers", "as_a_run", "one_by_one", "refused"),
    [((1, 2, 3), [[1, 2, 3]], [], 0), ((1, 2, 99), [], [1, 2, 99], 1)],
)
def test_a_consumer_applies_a_run_of_one_subject_through_its_batch_handler(
    uow: UnitOfWork,
    stream: str,
    numbers: tuple[int, ...],
    as_a_run: list[list[int]],
    one_by_one: list[int],
    refused: int,
) -> None:
    """Fetched together, events of one subject go to the domain's batch handler at once; a
    run it refuses is applied event by event instead (without offering it to the batch
    handler again); either way each event once."""
    runs: list[list[int]] = []
    singles: list[int] = []
    refusals: list[list[int]] = []

    def one(envelope: Envelope, tx: Tx) -> None:
        singles.append(int(envelope.data["n"]))

    def many(envelopes: list[Envelope], tx: Tx) -> None:
        got = [int(e.data["n"]) for e in envelopes]
        if 99 in got:
            refusals.append(got)
            raise RetryLater("a run with 99 in it is refused as a whole")
        runs.append(got)

    bus = JetStreamBus(uow, NATS_URL, stream)
    bus.subscribe("tickets", "order:created", one, many)
    try:
        for n in numbers:
            _emit(uow, "order:created", {"n": n})
        bus._publish_unpublished()  # no consumer yet (and no wait): its first fetch takes all
        with consuming(bus):
            eventually(lambda: len(singles) + sum(map(len, runs)) == len(numbers))
        assert (runs, sorted(singles)) == (as_a_run, one_by_one)
        assert len(refusals) == refused
        with uow.read() as tx:
            claimed = tx.conn.execute(select(outbox.processed_events.c.consumer)).scalars()
            assert list(claimed) == ["tickets"] * len(numbers)
    finally:
        bus.close()


def _stream_event_ids(name: str) -> list[str]:
    """The Nats-Msg-Id (event id) of every message in the stream, in stream order."""

    async def read() -> list[str]:
        connection = await nats.connect(NATS_URL)
        js = connection.jetstream()
        info = await js.stream_info(name)
        ids = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(name, seq)
            ids.append(message.headers["Nats-Msg-Id"])
        await connection.close()
        return ids

    return asyncio.run(read())


def test_the_publisher_neither_skips_nor_repeats_events_committed_out_of_order(
    postgres_url: str, stream: str
) -> None:
    """The event with the lower number commits last: publishing after each commit sends each
    event once, the late one included."""
    engine = create_store_engine(postgres_url)
    ensure_schema(engine)
    store = UnitOfWork(engine, utc_now)
    bus = JetStreamBus(store, NATS_URL, stream, {})
    try:
        with store.write() as first:
            early = first.emit("ticket:created", {"n": "early"})
            with store.write() as second:
                late = second.emit("ticket:created", {"n": "late"})
            assert late.sequence > early.sequence
            bus.publish_pending()  # the later event, committed first
            assert _stream_event_ids(stream) == [late.id]
        bus.publish_pending()
        bus.publish_pending()
        assert _stream_event_ids(stream) == [late.id, early.id]
        with store.read() as tx:
            assert not outbox.has_pending(tx.conn)
    finally:
        bus.close()
        engine.dispose()


def test_one_thread_per_process_waits_for_every_waiting_command(
    postgres_url: str, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty commands waiting for their events' consumers at once: the store is asked by one
    settling thread for all of them, woken by the consumers' announcements (its own timer is
    set to an hour here, so nothing else could wake it), never by the waiting commands
    themselves; each returns once its own event is applied."""
    from sqlalchemy import event

    monkeypatch.setattr(jetstream_settle, "LOOK_SECONDS_ANNOUNCED", 3600.0)
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)  # none returns by timing out

    engine = create_store_engine(postgres_url)
    ensure_schema(engine)
    store = UnitOfWork(engine, utc_now)
    consumers_of = {"order:created": {"tickets"}, "ticket:updated": {"orders"}}
    bus = JetStreamBus(store, NATS_URL, stream, consumers_of)
    askers: set[str] = set()

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "processed_events" in statement and "SELECT" in statement:
            askers.add(threading.current_thread().name)

    commands = []
    for n in range(20):
        with store.write() as tx:
            commands.append(tx.emit("order:created", {"n": n}))
    settled: list[int] = []

    def wait_for(n: int) -> None:
        bus._settler.settle([(commands[n].id, commands[n].subject)], consumers_of)
        settled.append(n)

    threads = [threading.Thread(target=wait_for, args=(n,), name=f"command-{n}") for n in range(20)]
    try:
        for thread in threads:
            thread.start()
        for n, envelope in enumerate(commands):  # consumers elsewhere apply them, in turn
            with store.write() as tx:  # tickets applies it and announces a consequence
                assert outbox.claim(tx.conn, "tickets", envelope.id, tx.now)
                tx.cause = envelope.id
                consequence = tx.emit("ticket:updated", {"n": n})
                progress.announce(tx.conn)
            with store.write() as tx:  # which is published
                outbox.mark_delivered(tx.conn, [consequence.sequence], tx.now)
                progress.announce(tx.conn)
            assert n not in settled  # orders has not applied the consequence yet
            with store.write() as tx:
                assert outbox.claim(tx.conn, "orders", consequence.id, tx.now)
                progress.announce(tx.conn)
            eventually(lambda n=n: len(settled) > n, what=f"command {n} to return")
            assert sorted(settled) == list(range(n + 1))  # the others still wait
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(settled) == list(range(20))
        assert askers == {"openticket-settle"}
    finally:
        bus.close()
        engine.dispose()
