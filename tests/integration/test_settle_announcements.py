"""Commands waiting for their events' consumers (read your writes on a broker) learn from what
consumers and publishers in any process announce, not by reading the store: two settlers (two
servers) on one real PostgreSQL database, each with commands waiting."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from openticket.bootstrap import Overrides, bootstrap
from openticket.bus import jetstream_settle
from openticket.bus.jetstream_settle import Settler
from openticket.config import Settings
from openticket.core.auth.passwords import Argon2Hasher
from openticket.core.clock import utc_now
from openticket.core.events import Envelope
from openticket.store import outbox, progress
from openticket.store.db import create_store_engine
from openticket.store.migrate import ensure_schema
from openticket.store.uow import UnitOfWork
from tests.conftest import NATS_URL, eventually, nats_stream

CONSUMERS_OF = {"order:created": {"tickets"}, "ticket:updated": {"orders"}}


def tickets_applies(store: UnitOfWork, envelope: Envelope, n: int) -> Envelope:
    """What the tickets worker does with an order event: applies it, emits a consequence
    and announces both, then hands the consequence on; the consequence."""
    with store.write() as tx:
        assert outbox.claim(tx.conn, "tickets", envelope.id, tx.now)
        tx.cause = envelope.id
        consequence = tx.emit("ticket:updated", {"n": n})
        progress.announce_applied(tx.conn, "tickets", [envelope.id], tx.caused)
    with store.write() as tx:
        outbox.mark_delivered(tx.conn, [consequence.sequence], tx.now)
    return consequence


def test_commands_in_two_servers_settle_on_announced_facts_without_reading_the_store(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jetstream_settle, "LOOK_SECONDS_ANNOUNCED", 3600.0)
    monkeypatch.setattr(jetstream_settle, "STORE_LOOK_SECONDS", 3600.0)
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)  # none returns by timing out
    engine = create_store_engine(postgres_url)
    ensure_schema(engine)
    store = UnitOfWork(engine, utc_now)
    servers = [Settler(store), Settler(store)]
    store_looks: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "processed_events" in statement and threading.current_thread().name.endswith("settle"):
            store_looks.append(statement)

    commands = []
    for n in range(20):
        with store.write() as tx:
            commands.append(tx.emit("order:created", {"n": n}))
    settled: list[int] = []

    def wait_for(n: int) -> None:
        servers[n % 2].settle([(commands[n].id, commands[n].subject)], CONSUMERS_OF)
        settled.append(n)

    threads = [threading.Thread(target=wait_for, args=(n,)) for n in range(20)]
    try:
        for thread in threads:
            thread.start()
        for n, envelope in enumerate(commands):  # consumers elsewhere apply them, in turn
            consequence = tickets_applies(store, envelope, n)
            assert n not in settled  # orders has not applied the consequence yet
            with store.write() as tx:  # which it does
                assert outbox.claim(tx.conn, "orders", consequence.id, tx.now)
                progress.announce_applied(tx.conn, "orders", [consequence.id], [])
            eventually(lambda n=n: len(settled) > n, what=f"command {n} to return")
            assert sorted(settled) == list(range(n + 1))  # the others still wait
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(settled) == list(range(20))
        # Each server looked in the store only when it began (before its listener listened,
        # and once it did; a look reads the inbox once per generation it moves a command
        # through): never for an announcement, of which there were 80.
        assert len(store_looks) <= 8
    finally:
        for server in servers:
            server.close()
        engine.dispose()


def test_many_facts_go_in_several_notifications_and_too_long_a_one_says_look_in_the_store(
    postgres_url: str,
) -> None:
    engine = create_store_engine(postgres_url)
    ensure_schema(engine)
    applied = [f"{n:026d}" for n in range(600)]
    emitted = [(event_id, f"x{event_id[1:]}", "ticket:updated") for event_id in applied]
    crowded = [("y" * 26, f"z{n:025d}", "ticket:updated") for n in range(400)]  # one cause
    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql")) as listener:
        listener.autocommit = True
        listener.execute(f"LISTEN {progress.CHANNEL}")
        with engine.begin() as conn:
            progress.announce_applied(conn, "tickets", applied, emitted)
            progress.announce_applied(conn, "orders", ["y" * 26], crowded)
        payloads = [n.payload for n in listener.notifies(timeout=5, stop_after=20)]
    engine.dispose()

    facts = progress.Facts()
    bare = [payload for payload in payloads if not facts.learn(payload, 0.0)]
    assert len(payloads) > 3  # several notifications, each under PostgreSQL's limit
    assert all(len(payload.encode()) < 8000 for payload in payloads)
    assert facts.done == {("tickets", event_id) for event_id in applied}
    assert facts.caused == {c: [(e, s)] for c, e, s in emitted}
    assert bare == [""]  # the crowded one: too long to say, so "look in the store"
    facts.forget_before(1.0)
    assert (facts.done, facts.caused) == (set(), {})


def test_a_worker_s_commands_wait_for_no_consumer(postgres_url: str, tmp_path: Path) -> None:
    """What a worker does on its own (expiries, refunds, leftovers) has nobody waiting to read
    it: its commands publish and return, and it neither listens for announcements nor looks
    in the store for them (here no consumer runs at all: a waiting command would wait for
    SETTLE_SECONDS, and its settling threads would be running)."""
    with nats_stream() as stream:
        settings = Settings(
            home=tmp_path / "home", db_url=postgres_url, bus_url=NATS_URL, nats_stream=stream
        )
        overrides = Overrides(hasher=Argon2Hasher.cheap(), domains=("auth",))
        api = bootstrap(settings, replace(overrides, read_your_writes=False))
        try:
            seller = api.signup("seller@example.com", "long enough").token
            ticket = api.create_ticket(seller, "Seat 1", "10.00")
            running = {thread.name for thread in threading.enumerate()}
        finally:
            api.close()

    assert ticket.title == "Seat 1"
    assert not running & {"openticket-settle", "openticket-progress"}
