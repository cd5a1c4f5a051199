"""A command waits for its own events whichever process publishes them. Every worker's
publisher takes all unpublished outbox rows (after a consumer batch that emitted, and in its
catch-up), so it can take a server's fresh rows between the command's commit and the server's
own claim; the server's publisher then finds them locked and skips them. The command must
still be answered only once its consumers applied them, or a buyer's next read misses what
they just did. Real PostgreSQL and NATS."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy import Connection

from openticket.app.commands import Commands
from openticket.bus import jetstream_settle
from openticket.bus.jetstream import JetStreamBus
from openticket.core import faults
from openticket.core.clock import utc_now
from openticket.core.events import Envelope
from openticket.store import outbox
from openticket.store.db import create_store_engine
from openticket.store.migrate import ensure_schema
from openticket.store.uow import Tx, UnitOfWork
from tests.conftest import NATS_URL, eventually, nats_stream


@pytest.fixture
def store(postgres_url: str) -> Iterator[UnitOfWork]:
    engine = create_store_engine(postgres_url)
    ensure_schema(engine)
    yield UnitOfWork(engine, utc_now)
    engine.dispose()


def test_a_command_waits_for_its_events_when_another_process_publishes_them(
    store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)  # no answer by the bound
    applied: list[str] = []

    def tickets_handler(envelope: Envelope, tx: Tx) -> None:
        applied.append(envelope.id)

    held: list[Connection] = []

    def a_worker_claims_the_fresh_rows() -> None:
        conn = store.engine.connect()
        conn.begin()
        held.append(conn)
        assert len(outbox.claim_unpublished(conn, 10)) == 1

    with ExitStack() as stack:
        stream = stack.enter_context(nats_stream())
        server = JetStreamBus(store, NATS_URL, stream, {"order:created": {"tickets"}})
        stack.callback(server.close)
        worker = JetStreamBus(store, NATS_URL, stream)
        stack.callback(worker.close)
        worker.subscribe("tickets", "order:created", tickets_handler)
        commands = Commands(store, server)
        answered: list[list[str]] = []  # what the consumer had applied when it was answered

        with faults.hooked("reserve:committed", a_worker_claims_the_fresh_rows):
            event = commands.run(
                "reserve",
                lambda tx: tx.emit("order:created", {"n": 1}),
                settled=lambda: answered.append(list(applied)),
            )
        assert answered == []  # its event is not even published yet: no answer

        held[0].rollback()  # the worker's publisher lets go (here: without publishing)...
        held[0].close()
        stop = threading.Event()
        consumer = threading.Thread(target=worker.consume, args=(stop,))
        consumer.start()
        stack.callback(consumer.join, 60)
        stack.callback(stop.set)
        worker.publish_pending()  # ...and its catch-up publishes it
        eventually(lambda: answered != [], what="the command to be answered")
        assert answered == [[event.id]]  # answered once tickets had applied it


def test_a_command_whose_events_nats_refused_is_answered_at_once(
    store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody can publish them now: waiting would only hold every command up to the bound.
    They stay in the outbox for a later publisher."""
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nobody = f"nats://127.0.0.1:{sock.getsockname()[1]}"
    server = JetStreamBus(store, nobody, "OT_TEST_UNREACHABLE", {"order:created": {"tickets"}})
    answered: list[str] = []
    try:
        Commands(store, server).run(
            "reserve",
            lambda tx: tx.emit("order:created", {"n": 1}),
            settled=lambda: answered.append("answered"),
        )
        assert answered == ["answered"]
    finally:
        server.close()
    with store.read() as tx:
        assert outbox.has_pending(tx.conn)
