"""A command waits for its own events whichever process publishes them. Every worker's
publisher takes what is left unpublished in the outbox (in its catch-up), so it can publish a
server's fresh rows between the command's commit and the server's own publish. The command
must still be answered only once its consumers applied them, or a buyer's next read misses
what they just did; and the copy the server sends too is applied once. Real PostgreSQL and
NATS."""

from __future__ import annotations

import socket
import threading
from contextlib import ExitStack

import pytest
from sqlalchemy import Connection

from openticket.app.commands import Commands
from openticket.bus import jetstream_publisher, jetstream_settle
from openticket.bus.jetstream import JetStreamBus
from openticket.core import faults
from openticket.core.events import Envelope
from openticket.store import outbox
from openticket.store.uow import Tx, UnitOfWork
from tests.conftest import NATS_URL, eventually, nats_stream
from tests.integration.test_jetstream_bus import _stream_event_ids, _stream_messages, consuming


def _server_and_worker(
    stack: ExitStack, store: UnitOfWork, subject: str, consumer: str
) -> tuple[str, JetStreamBus, JetStreamBus, list[str]]:
    """A stream; a server whose commands wait for `consumer` to apply `subject`; the worker
    that applies it (not consuming yet); the ids of the events it applied."""
    applied: list[str] = []
    stream = stack.enter_context(nats_stream())
    server = JetStreamBus(store, NATS_URL, stream, {subject: {consumer}})
    stack.callback(server.close)
    worker = JetStreamBus(store, NATS_URL, stream)
    stack.callback(worker.close)
    worker.subscribe(consumer, subject, lambda envelope, _tx: applied.append(envelope.id))
    return stream, server, worker, applied


def test_a_command_waits_for_its_events_when_another_process_publishes_them(
    postgres_store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)  # no answer by the bound
    with ExitStack() as stack:
        stream, server, worker, applied = _server_and_worker(
            stack, postgres_store, "order:created", "tickets"
        )
        commands = Commands(postgres_store, server)
        answered: list[list[str]] = []  # what the consumer had applied when it was answered

        published_first: list[Envelope] = []
        with faults.hooked(
            "reserve:committed", lambda: published_first.extend(worker._publish_unpublished())
        ):
            event = commands.run(
                "reserve",
                lambda tx: tx.emit("order:created", {"n": 1}),
                settled=lambda: answered.append(list(applied)),
            )
        assert [e.id for e in published_first] == [event.id]  # the worker's pass sent it first
        assert answered == []  # nobody has applied it yet: no answer

        stack.enter_context(consuming(worker))
        eventually(lambda: answered != [], what="the command to be answered")
        assert answered == [[event.id]]  # answered once tickets had applied it
        assert _stream_messages(stream) == 1  # the server's copy was dropped
        assert applied == [event.id]
        with postgres_store.read() as tx:
            assert not outbox.has_pending(tx.conn)  # marked published by one of the two


def test_a_command_of_several_writes_waits_for_its_events_when_another_process_publishes_them(
    postgres_store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payment (or an import) commits several writes and delivers after them: what it
    waits for is what its writes recorded, not what its own outbox read finds still
    unpublished (nothing, once a worker's pass took them)."""
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)
    with ExitStack() as stack:
        stream, server, worker, applied = _server_and_worker(
            stack, postgres_store, "payment:created", "orders"
        )
        commands = Commands(postgres_store, server)
        with postgres_store.recording() as written:
            attempt = postgres_store.transact(lambda tx: tx.emit("payment:started", {"n": 1}))
            paid = postgres_store.transact(lambda tx: tx.emit("payment:created", {"n": 1}))
        assert written.events == [attempt, paid]
        assert [e.id for e in worker._publish_unpublished()] == [attempt.id, paid.id]

        seen_at_return: list[list[str]] = []

        def deliver() -> None:
            commands.deliver(written)
            seen_at_return.append(list(applied))

        delivering = threading.Thread(target=deliver)
        delivering.start()
        stack.callback(delivering.join, 60)
        eventually(lambda: server._settler._waiting, what="the delivery to wait for orders")
        assert written.events == []  # taken: a later delivery does not send them again

        stack.enter_context(consuming(worker))
        delivering.join(60)
        assert seen_at_return == [[paid.id]]  # it returned once orders had applied it
        assert _stream_messages(stream) == 2  # the server's copies were dropped


def test_a_command_whose_events_nats_refused_is_answered_at_once(
    postgres_store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody can publish them now: waiting would only hold every command up to the bound.
    They stay in the outbox for a later publisher."""
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nobody = f"nats://127.0.0.1:{sock.getsockname()[1]}"
    server = JetStreamBus(
        postgres_store, nobody, "OT_TEST_UNREACHABLE", {"order:created": {"tickets"}}
    )
    answered: list[str] = []
    try:
        Commands(postgres_store, server).run(
            "reserve",
            lambda tx: tx.emit("order:created", {"n": 1}),
            settled=lambda: answered.append("answered"),
        )
        assert answered == ["answered"]
    finally:
        server.close()
    with postgres_store.read() as tx:
        assert outbox.has_pending(tx.conn)


def test_a_command_publishes_and_marks_its_own_events_and_leaves_the_rest_to_a_worker(
    postgres_store: UnitOfWork,
) -> None:
    with postgres_store.write() as tx:
        left = tx.emit("ticket:created", {"n": 0})  # a command that died before publishing
    with nats_stream() as stream:
        server = JetStreamBus(postgres_store, NATS_URL, stream, {})
        try:
            Commands(postgres_store, server).run(
                "reserve", lambda tx: tx.emit("order:created", {"n": 1})
            )
            assert _stream_messages(stream) == 1  # its own, as written
            with postgres_store.read() as tx:
                assert [e.id for e in outbox.claim_unpublished(tx.conn, 10)] == [left.id]
            assert [e.id for e in server._publish_unpublished()] == [left.id]  # a worker's pass
            assert _stream_messages(stream) == 2
            with postgres_store.read() as tx:
                assert not outbox.has_pending(tx.conn)
        finally:
            server.close()


def test_a_chunk_nats_refused_is_left_to_a_worker_and_the_stream_keeps_the_log_order(
    postgres_store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command's events go out in chunks: when NATS takes the first and refuses the
    second, the first is marked published and the rest stays in the outbox; the command
    waits for what it handed on only (nobody could publish the rest now), and a worker's
    pass sends the rest after the first: each event applied once, in the order written."""
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)
    monkeypatch.setattr(jetstream_publisher, "PUBLISH_CHUNK", 3)
    with ExitStack() as stack:
        stream, server, worker, applied = _server_and_worker(
            stack, postgres_store, "ticket:created", "orders"
        )
        answered: list[list[str]] = []  # what the consumer had applied when it was answered
        written: list[Envelope] = []

        def list_seven(tx: Tx) -> None:
            written.extend(tx.emit("ticket:created", {"n": n}) for n in range(7))

        with faults.armed("publish:chunk@2=raise"):
            Commands(postgres_store, server).run(
                "import", list_seven, settled=lambda: answered.append(list(applied))
            )
        ids = [e.id for e in written]
        assert _stream_event_ids(stream) == ids[:3]
        with postgres_store.read() as tx:
            assert [e.id for e in outbox.claim_unpublished(tx.conn, 10)] == ids[3:]
        assert answered == []  # its first chunk is not applied yet

        stack.enter_context(consuming(worker))
        eventually(lambda: answered != [], what="the command to be answered")
        assert answered == [ids[:3]]
        assert [e.id for e in worker._publish_unpublished()] == ids[3:]  # a worker's pass
        eventually(lambda: len(applied) == 7, what="the rest to be applied")
        assert applied == ids
        assert _stream_event_ids(stream) == ids
        with postgres_store.read() as tx:
            assert not outbox.has_pending(tx.conn)


def test_a_command_does_not_wait_for_a_worker_s_pass_holding_its_rows(
    postgres_store: UnitOfWork,
) -> None:
    """Marking its own events published skips rows a worker's pass holds (it is publishing
    and marking them): the writer goes on instead of waiting for that pass to end."""
    held: list[Connection] = []

    def a_worker_s_pass_holds_the_rows() -> None:
        conn = postgres_store.engine.connect()
        conn.begin()
        held.append(conn)
        assert len(outbox.claim_unpublished(conn, 10)) == 1

    with nats_stream() as stream:
        server = JetStreamBus(postgres_store, NATS_URL, stream, {})
        done = threading.Event()

        def run() -> None:
            Commands(postgres_store, server).run(
                "reserve", lambda tx: tx.emit("order:created", {"n": 1})
            )
            done.set()

        thread = threading.Thread(target=run)
        try:
            with faults.hooked("reserve:committed", a_worker_s_pass_holds_the_rows):
                thread.start()
                assert done.wait(60), "the command waited for the pass holding its rows"
        finally:
            for conn in held:
                conn.close()
            thread.join(60)
            server.close()
