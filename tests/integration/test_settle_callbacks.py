"""A command that must not block while its events' consumers catch up (a server's reservation
writer, which takes its next batch meanwhile) leaves a callback with the process's one waiter:
called once the consumers applied its events and what they emitted, past the bound anyway,
and when the process stops; never while the consumers still have work to do. Real PostgreSQL,
the consumers' announcements made as a worker makes them."""

from __future__ import annotations

import threading

import pytest

from openticket.bus import jetstream_settle
from openticket.bus.jetstream_settle import Settler
from openticket.store import outbox, progress
from openticket.store.uow import UnitOfWork
from tests.conftest import eventually
from tests.integration.test_settle_announcements import CONSUMERS_OF, tickets_applies


def test_the_waiter_calls_back_once_the_consequences_are_applied_too(
    postgres_store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)  # none is called by the bound
    settler = Settler(postgres_store)
    called: list[tuple[int, str]] = []
    commands = []
    for n in range(3):
        with postgres_store.write() as tx:
            commands.append(tx.emit("order:created", {"n": n}))
    try:
        for n, envelope in enumerate(commands):  # each returns at once: nothing is applied yet
            settler.then(
                [(envelope.id, envelope.subject)],
                CONSUMERS_OF,
                lambda n=n: called.append((n, threading.current_thread().name)),
            )
        for n, envelope in enumerate(commands):
            consequence = tickets_applies(postgres_store, envelope, n)
            assert [m for m, _ in called] == list(range(n))  # orders has yet to apply it
            with postgres_store.write() as tx:  # which it does
                assert outbox.claim(tx.conn, "orders", consequence.id, tx.now)
                progress.announce_applied(tx.conn, "orders", [consequence.id], [])
            eventually(lambda n=n: len(called) > n, what=f"command {n} to be called back")
        assert called == [(n, "openticket-settle") for n in range(3)]
    finally:
        settler.close()
    assert len(called) == 3  # once each: closing calls only those still waiting


def test_past_the_bound_when_stopping_or_with_nothing_to_wait_for_it_is_called_anyway(
    postgres_store: UnitOfWork, monkeypatch: pytest.MonkeyPatch
) -> None:
    settler = Settler(postgres_store)
    with postgres_store.write() as tx:
        stuck = [(tx.emit("order:created", {"n": 1}).id, "order:created")]  # never applied
    called: list[str] = []
    try:
        settler.then(stuck, {"order:created": set()}, lambda: called.append("nobody"))
        assert called == ["nobody"]  # nobody consumes it: called at once, by the caller

        monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 0.5)
        settler.then(stuck, CONSUMERS_OF, lambda: called.append("bound"))
        eventually(lambda: "bound" in called, what="the bound to pass")

        monkeypatch.setattr(jetstream_settle, "SETTLE_SECONDS", 3600.0)
        settler.then(stuck, CONSUMERS_OF, lambda: called.append("stopping"))
        assert called == ["nobody", "bound"]
    finally:
        settler.close()
    assert called == ["nobody", "bound", "stopping"]  # the process stopped: it was called

    settler.then(stuck, CONSUMERS_OF, lambda: called.append("closed"))
    assert called[-1] == "closed"  # a closed waiter calls back at once
