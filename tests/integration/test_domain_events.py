"""Domains over the in-process bus: events applied once, in version order, and a stale event
never undoes a newer state. Real SQLite files; the scheduler is replaced by FakeTimer, since
these tests are about event handling, not timers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from openticket.app.ports import FixedTerms
from openticket.bootstrap import ALL_DOMAINS, assemble, subscribe_domains
from openticket.bus.memory import InProcessBus
from openticket.core import events
from openticket.core.auth import repository as auth_repository
from openticket.core.auth.passwords import Argon2Hasher
from openticket.core.expiration import service as expiration_service
from openticket.core.key_table import TableKeyRing
from openticket.core.orders import handlers as orders_handlers
from openticket.core.orders.tables import order_tickets
from openticket.core.tickets.model import ImportRow
from openticket.core.tickets.tables import tickets
from openticket.providers.local import LocalProvider
from openticket.store import outbox
from openticket.store.db import create_store_engine
from openticket.store.migrate import ensure_schema
from openticket.store.uow import Tx, UnitOfWork
from tests.conftest import ManualClock, dump_store


class FakeTimer:
    """Stands in for APScheduler: records what would be scheduled."""

    def __init__(self) -> None:
        self.scheduled: dict[str, datetime] = {}

    def schedule(self, order_id: str, at: datetime) -> None:
        self.scheduled[order_id] = at

    def start(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


class Market:
    def __init__(self, path: Path, clock: ManualClock, url: str | None = None) -> None:
        """A SQLite file at `path`, or the database at `url`."""
        self.engine = create_store_engine(url or f"sqlite:///{path}")
        ensure_schema(self.engine)
        self.path = path
        self.uow = UnitOfWork(self.engine, clock)
        self.bus = InProcessBus(self.uow)
        self.timer = FakeTimer()
        subscribe_domains(self.bus, self.timer, ALL_DOMAINS, FixedTerms())
        self.api = assemble(
            uow=self.uow,
            bus=self.bus,
            keys=TableKeyRing(auth_repository),
            hasher=Argon2Hasher.cheap(),
            provider=LocalProvider(self.engine, clock),
            timer=self.timer,
            terms=FixedTerms(order_ttl=900, currency="USD"),
            payment_lease=timedelta(seconds=10),
        )

    def emit(self, subject: str, data: events.EventData) -> None:
        with self.uow.write() as tx:
            tx.emit(subject, data)

    def redeliver_everything(self) -> None:
        with self.uow.write() as tx:
            tx.conn.execute(update(outbox.outbox).values(delivered_at=None))
        self.bus.publish_pending()


@pytest.fixture
def market(tmp_path: Path, clock: ManualClock) -> Iterator[Market]:
    built = Market(tmp_path / "market.db", clock)
    yield built
    built.engine.dispose()


def _journey(market: Market) -> tuple[str, str, str]:
    api = market.api
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Opera", "40.00")
    order = api.create_order(buyer.token, ticket.id)
    return buyer.token, ticket.id, order.id


def _state_tables(market: Market) -> dict[str, object]:
    state = dump_store(market.path)
    for table in ("outbox", "processed_events"):
        state.pop(table)
    return state


def test_every_event_delivered_twice_changes_nothing(market: Market) -> None:
    buyer, _, order_id = _journey(market)
    market.api.pay(buyer, order_id, "tok_visa")
    before = _state_tables(market)
    inbox_before = dump_store(market.path)["processed_events"]

    market.redeliver_everything()

    assert _state_tables(market) == before
    assert dump_store(market.path)["processed_events"] == inbox_before


def test_handlers_are_idempotent_without_the_inbox(market: Market) -> None:
    """Even a consumer that lost its inbox (e.g. a restored backup) applies nothing twice."""
    buyer, _, order_id = _journey(market)
    market.api.pay(buyer, order_id, "tok_visa")
    before = _state_tables(market)
    with market.uow.write() as tx:
        tx.conn.execute(outbox.processed_events.delete())
    market.redeliver_everything()
    after = _state_tables(market)
    assert after == before


def test_out_of_order_ticket_versions_are_applied_in_order(market: Market) -> None:
    seller = market.api.signup("seller@example.com", "long enough")
    ticket = market.api.create_ticket(seller.token, "Ballet", "30.00")
    base = {
        "id": ticket.id,
        "currency": "USD",
        "user_id": ticket.owner_id,
        "status": "available",
        "order_id": None,
    }
    # Versions 2 and 3 reach the log before version 1 (as a broker may redeliver them).
    market.emit(events.TICKET_UPDATED, base | {"version": 3, "title": "v3", "price": "33.00"})
    market.emit(events.TICKET_UPDATED, base | {"version": 2, "title": "v2", "price": "32.00"})
    market.bus.publish_pending()
    with market.engine.connect() as conn:
        replica = conn.execute(select(order_tickets)).one()
    assert (replica.version, replica.title) == (0, "Ballet")  # waits for version 1

    market.emit(events.TICKET_UPDATED, base | {"version": 1, "title": "v1", "price": "31.00"})
    market.bus.publish_pending()
    with market.engine.connect() as conn:
        replica = conn.execute(select(order_tickets)).one()
        pending = conn.execute(
            select(outbox.outbox).where(outbox.outbox.c.delivered_at.is_(None))
        ).all()
    assert (replica.version, replica.title, replica.price_minor) == (3, "v3", 3300)
    assert pending == []


def test_cancellation_seen_before_creation_waits_for_it(market: Market) -> None:
    seller = market.api.signup("seller@example.com", "long enough")
    ticket = market.api.create_ticket(seller.token, "Ballet", "30.00")
    order = {
        "id": "o" * 32,
        "version": 0,
        "user_id": "u" * 32,
        "status": "created",
        "expires_at": "2099-01-01T00:00:00.000Z",
        "ticket": {"id": ticket.id, "title": "Ballet", "price": "30.00", "currency": "USD"},
    }
    market.emit(
        events.ORDER_CANCELLED,
        {
            "id": order["id"],
            "version": 1,
            "user_id": "u" * 32,
            "ticket": {"id": ticket.id},
            "reason": "cancelled",
        },
    )
    market.emit(events.ORDER_CREATED, order)
    market.bus.publish_pending()
    # The original left the ticket locked forever here; the cancellation is applied after.
    assert market.api.get_ticket(ticket.id).status == "available"
    with market.engine.connect() as conn:
        assert conn.execute(select(tickets.c.version)).scalar() == 2


def test_stale_expiration_does_not_release_another_buyers_lock(market: Market) -> None:
    buyer, ticket_id, first_order = _journey(market)
    market.api.cancel_order(buyer, first_order)
    other = market.api.signup("other@example.com", "long enough")
    second = market.api.create_order(other.token, ticket_id)
    # The first order's timer fires late (the original then unlocked the ticket).
    market.emit(events.EXPIRATION_COMPLETE, {"order_id": first_order})
    market.bus.publish_pending()
    shown = market.api.get_ticket(ticket_id)
    assert (shown.status, shown.order_id) == ("reserved", second.id)
    assert market.api.get_order(other.token, second.id).status == "created"


def test_expiration_schedule_follows_orders(market: Market) -> None:
    buyer, _, order_id = _journey(market)
    assert set(market.timer.scheduled) == {order_id}
    assert _scheduled(market) == [order_id]
    market.api.pay(buyer, order_id, "tok_visa")
    assert _scheduled(market) == []  # a timer that fires later finds nothing to do


def _scheduled(market: Market) -> list[str]:
    with market.uow.read() as tx:
        return [order_id for order_id, _ in expiration_service.pending(tx)]


def test_a_failing_consumer_keeps_its_event_pending_and_visible(market: Market) -> None:
    calls: list[str] = []

    def broken(envelope: events.Envelope, tx: object) -> None:
        calls.append(envelope.id)
        raise ValueError("boom")

    market.bus.subscribe("audit", events.TICKET_CREATED, broken)
    seller = market.api.signup("seller@example.com", "long enough")
    market.api.create_ticket(seller.token, "Ballet", "30.00")
    offered = len(calls)
    assert offered >= 1
    with market.engine.connect() as conn:
        row = conn.execute(
            select(outbox.outbox).where(outbox.outbox.c.subject == "ticket:created")
        ).one()
    assert row.delivered_at is None and row.attempts == 1 and "boom" in row.last_error
    assert market.api.list_tickets()[0].title == "Ballet"  # other consumers went on
    assert len(calls) > offered  # offered again on the next command
    assert set(calls) == {row.event_id}


def test_a_consumer_that_applied_an_event_is_not_given_it_again(market: Market) -> None:
    """The first pass needs no inbox rows (all consumers or none); once a pass leaves an event
    half-applied, its consumers go through the inbox."""
    failures = ["optimistic pass", "isolated pass"]

    def seen(envelope: events.Envelope, tx: Tx) -> None:
        tx.emit("audit:seen", {"event": envelope.id})  # an effect that commits with the pass

    def flaky(envelope: events.Envelope, tx: Tx) -> None:
        if failures:
            failures.pop()
            raise ValueError("boom")

    market.bus.subscribe("seen", events.TICKET_CREATED, seen)
    market.bus.subscribe("flaky", events.TICKET_CREATED, flaky)
    seller = market.api.signup("seller@example.com", "long enough")
    market.api.create_ticket(seller.token, "Ballet", "30.00")
    assert _outbox(market, "ticket:created") == [(None, 1)]  # pending, one attempt
    assert len(_outbox(market, "audit:seen")) == 1

    market.api.list_tickets()  # the next command delivers it again: flaky now succeeds
    [(delivered_at, _)] = _outbox(market, "ticket:created")
    assert delivered_at is not None
    assert len(_outbox(market, "audit:seen")) == 1  # `seen` was not given it twice
    with market.engine.connect() as conn:
        inbox = conn.execute(select(outbox.processed_events.c.consumer)).scalars().all()
    assert sorted(inbox) == ["flaky", "notify", "orders", "seen"]


def test_a_clean_pass_writes_no_inbox_rows(market: Market) -> None:
    _journey(market)
    with market.engine.connect() as conn:
        assert conn.execute(select(outbox.processed_events)).all() == []
        pending = conn.execute(
            select(outbox.outbox).where(outbox.outbox.c.delivered_at.is_(None))
        ).all()
    assert pending == []


def _outbox(market: Market, subject: str) -> list[tuple[object, int]]:
    with market.engine.connect() as conn:
        rows = conn.execute(
            select(outbox.outbox.c.delivered_at, outbox.outbox.c.attempts).where(
                outbox.outbox.c.subject == subject
            )
        ).all()
    return [(row[0], row[1]) for row in rows]


def test_a_run_of_created_tickets_applied_again_changes_no_replica(market: Market) -> None:
    """Imported listings reach the orders replica as one run of events (one statement); the
    run given again to the batch handler adds nothing and does not roll back a later edit."""
    seller = market.api.signup("seller@example.com", "long enough")
    rows = [ImportRow(line=n + 2, title=f"Seat {n}", price="12.50") for n in range(3)]
    assert market.api.import_tickets(seller.token, iter(rows)).created == 3
    edited = market.api.update_ticket(
        seller.token, market.api.list_tickets(seller.token)[0].id, title="Seat 0, aisle"
    )
    before = _state_tables(market)
    with market.engine.connect() as conn:
        seqs = conn.execute(
            select(outbox.outbox.c.seq).where(outbox.outbox.c.subject == events.TICKET_CREATED)
        ).scalars()
        created = outbox.by_seqs(conn, list(seqs))
    assert len(created) == 3

    with market.uow.write() as tx:
        orders_handlers.on_tickets_created(created, tx)

    assert _state_tables(market) == before
    with market.engine.connect() as conn:
        replica = conn.execute(
            select(order_tickets.c.title, order_tickets.c.version).where(
                order_tickets.c.id == edited.id
            )
        ).one()
    assert tuple(replica) == ("Seat 0, aisle", 1)
