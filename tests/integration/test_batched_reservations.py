"""Reservations in batches (what a server does with concurrent requests): one transaction and
one delivery for many, each request answered on its own, and the events of a batch applied by
the domains' batch handlers exactly as one by one. Real SQLite files."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, insert, select

from openticket.app.api import OrderRequest
from openticket.app.reserving import BatchReads, reserve_batch
from openticket.app.schemas import Order
from openticket.core.auth import repository as auth_repository
from openticket.core.auth.tables import revoked_tokens, users
from openticket.core.errors import Conflict, DomainError, Forbidden, NotFound, NotSignedIn
from openticket.core.orders import repository as orders_repository
from openticket.core.orders import service as orders_service
from openticket.core.orders import tables as orders_tables
from openticket.core.orders.tables import order_tickets
from openticket.core.ports import Transaction
from openticket.store import outbox
from openticket.store.bulk import KEYS_PER_QUERY
from tests.conftest import ManualClock, dump_store
from tests.integration.test_domain_events import Market


@pytest.fixture
def market(tmp_path: Path, clock: ManualClock) -> Iterator[Market]:
    built = Market(tmp_path / "market.db", clock)
    yield built
    built.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def either_market(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[Market]:
    """The market on a SQLite file, then on PostgreSQL (their SQL differs)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    built = Market(tmp_path / "market.db", clock, url)
    yield built
    built.engine.dispose()


def _people_and_tickets(market: Market, count: int) -> tuple[str, str, str, list[str]]:
    api = market.api
    seller = api.signup("seller@example.com", "long enough").token
    ann = api.signup("ann@example.com", "long enough").token
    bob = api.signup("bob@example.com", "long enough").token
    tickets = [api.create_ticket(seller, f"Seat {n}", "20.00").id for n in range(count)]
    return seller, ann, bob, tickets


def _replica_versions(market: Market) -> dict[str, int]:
    with market.engine.connect() as conn:
        rows = conn.execute(select(order_tickets.c.id, order_tickets.c.version)).all()
    return {row.id: row.version for row in rows}


def _pending_events(market: Market) -> int:
    with market.engine.connect() as conn:
        return len(outbox.pending_refs(conn, 1000))


def test_each_request_of_a_batch_gets_its_own_answer(market: Market) -> None:
    seller, ann, bob, (t1, t2, t3) = _people_and_tickets(market, 3)

    outcomes = market.api.create_orders(
        [
            OrderRequest(ann, t1),
            OrderRequest(bob, t1),  # taken by the request before it, in the same batch
            OrderRequest(seller, t2),  # one's own ticket
            OrderRequest("not a token", t2),
            OrderRequest(bob, t2),
            OrderRequest(ann, "no-such-ticket"),
            OrderRequest(ann, t3, "key-1"),
            OrderRequest(ann, t3, "key-1"),  # a retry of the one before: the same order
        ]
    )

    kinds = [type(outcome) for outcome in outcomes]
    assert kinds == [Order, Conflict, Forbidden, NotSignedIn, Order, NotFound, Order, Order]
    first, _, _, _, second, _, third, third_again = outcomes
    assert isinstance(third, Order) and third == third_again
    assert isinstance(first, Order) and isinstance(second, Order)
    mine = {order.id for order in market.api.list_orders(ann)}
    assert mine == {first.id, third.id}
    assert [order.id for order in market.api.list_orders(bob)] == [second.id]
    # The events of the batch are delivered before the answers: every ticket shows the lock.
    shown = {ticket.id: ticket for ticket in market.api.list_tickets(seller, mine=True)}
    assert {t: (shown[t].status, shown[t].order_id) for t in (t1, t2, t3)} == {
        t1: ("reserved", first.id),
        t2: ("reserved", second.id),
        t3: ("reserved", third.id),
    }
    assert _replica_versions(market) == {t1: 1, t2: 1, t3: 1}
    assert set(market.timer.scheduled) == {first.id, second.id, third.id}
    assert _pending_events(market) == 0


def test_a_refused_request_changes_nothing_in_its_batch(market: Market) -> None:
    _, ann, bob, (t1, t2) = _people_and_tickets(market, 2)
    before = dump_store(market.path)

    outcomes = market.api.create_orders([OrderRequest(bob, "nope"), OrderRequest("bad", t1)])

    assert [type(outcome) for outcome in outcomes] == [NotFound, NotSignedIn]
    assert dump_store(market.path) == before
    (alone,) = market.api.create_orders([OrderRequest(ann, t2)])
    assert isinstance(alone, Order) and alone.ticket_id == t2


def test_a_batch_s_events_given_again_change_nothing(market: Market) -> None:
    _, ann, bob, tickets = _people_and_tickets(market, 6)
    requests = [OrderRequest(ann if n % 2 else bob, t) for n, t in enumerate(tickets)]
    assert all(isinstance(o, Order) for o in market.api.create_orders(requests))
    state = dump_store(market.path)
    before = {table: rows for table, rows in state.items() if table != "outbox"}

    market.redeliver_everything()

    after = dump_store(market.path)
    assert {table: rows for table, rows in after.items() if table != "outbox"} == before


def test_a_batch_taking_over_expired_reservations_applies_each_ticket_change_in_order(
    market: Market, clock: ManualClock
) -> None:
    """Lazy expiry inside a batch: each ticket is unlocked, then locked again, so the orders
    replica gets two versions of one ticket in one run of events."""
    _, ann, bob, (t1, t2) = _people_and_tickets(market, 2)
    held = market.api.create_orders([OrderRequest(bob, t1), OrderRequest(bob, t2)])
    clock.advance(901)

    taken = market.api.create_orders([OrderRequest(ann, t1), OrderRequest(ann, t2)])

    assert all(isinstance(order, Order) for order in held + taken)
    assert [order.status for order in market.api.list_orders(bob)] == ["expired", "expired"]
    assert _replica_versions(market) == {t1: 3, t2: 3}  # locked, unlocked, locked again
    assert not {t1, t2} & {ticket.id for ticket in market.api.list_tickets()}  # reserved
    assert _pending_events(market) == 0


def test_a_refusal_after_a_write_runs_the_batch_again_with_a_savepoint_each(
    market: Market,
) -> None:
    """A batch runs without savepoints while every refusal comes before a write; one that
    comes after (no use case does so today: this reservation is refused by the test after
    it was written) makes the whole batch run again, each request in its own savepoint."""
    _, ann, bob, (t1, t2) = _people_and_tickets(market, 2)
    reserve_one = market.api._reserve

    def reserve(tx: Transaction, request: OrderRequest, reads: BatchReads) -> Order:
        order = reserve_one(tx, request, reads)
        if request.ticket_id == t2:
            raise Conflict("refused after it was written")
        return order

    requests = [OrderRequest(ann, t1), OrderRequest(bob, t2)]
    outcomes = reserve_batch(market.api.runtime.commands, market.api._keys, requests, reserve)

    assert [type(outcome) for outcome in outcomes] == [Order, Conflict]
    assert market.api.list_orders(bob) == []
    assert [order.ticket_id for order in market.api.list_orders(ann)] == [t1]
    assert {ticket.id for ticket in market.api.list_tickets()} == {t2}  # t1 is reserved


def _reserved_with_statements(
    market: Market, count: int
) -> tuple[list[Order | DomainError], list[str]]:
    """A batch of `count` buyers' reservations, a ticket each: the outcomes, and every
    statement the store was sent meanwhile."""
    seller = market.api.signup("seller@example.com", "long enough").token
    buyers = [market.api.signup(f"b{n}@example.com", "long enough").token for n in range(count)]
    tickets = [market.api.create_ticket(seller, f"Seat {n}", "20.00").id for n in range(count)]
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    event.listen(market.engine, "before_cursor_execute", capture)
    try:
        outcomes = market.api.create_orders(
            [OrderRequest(b, t) for b, t in zip(buyers, tickets, strict=True)]
        )
    finally:
        event.remove(market.engine, "before_cursor_execute", capture)
    return outcomes, statements


def test_a_batch_reads_its_tokens_and_tickets_once_for_all(market: Market) -> None:
    """Who each token belongs to and each ticket with its live order are read in a few
    statements for the whole batch, not a few per reservation (round trips are most of a
    reservation's time with PostgreSQL on another machine)."""
    outcomes, statements = _reserved_with_statements(market, 8)

    assert all(isinstance(outcome, Order) for outcome in outcomes)
    reads = Counter(
        table
        for sql in statements
        if sql.lstrip().upper().startswith("SELECT")
        for table in re.findall(r"\bFROM (\w+)", sql)
    )
    # The replica handler, which applies the batch's ticket changes in process, reads the
    # replicas once more.
    assert (reads["auth_users"], reads["orders_tickets"], reads["orders"]) == (1, 2, 1)


def test_a_batch_writes_its_orders_and_their_events_with_one_statement_each(
    market: Market,
) -> None:
    """A batch decides every reservation, then writes the new orders in one statement and
    their events in one more (one of each per reservation was a third of a server's batch)."""
    outcomes, statements = _reserved_with_statements(market, 6)

    assert all(isinstance(outcome, Order) for outcome in outcomes)
    inserts = Counter(
        match.group(1)
        for sql in statements
        if (match := re.match(r"\s*INSERT INTO (\w+)", sql, re.IGNORECASE))
    )
    # The second insert into the outbox: the tickets domain's answers (ticket:updated), all
    # in one too, as the batch's events are delivered in process.
    assert (inserts["orders"], inserts["outbox"]) == (1, 2)
    created = [e for e in market.api.events() if e.subject == "order:created"]
    assert [e.data["id"] for e in created] == [
        o.id for o in sorted(outcomes, key=lambda o: o.ticket.id) if isinstance(o, Order)
    ]


def test_orders_a_batch_cannot_write_together_are_written_one_by_one(market: Market) -> None:
    """The unique index on live orders stays the last guard: when the batch's one insert is
    refused (here a rival order for t2 is written behind the batch's back, in its first
    run only), nothing of that run stays and the batch runs again, each reservation alone."""
    _, ann, bob, (t1, t2) = _people_and_tickets(market, 2)
    reserve_one = market.api._reserve
    runs: list[str] = []

    def reserve(tx: Transaction, request: OrderRequest, reads: BatchReads) -> Order:
        if request.ticket_id == t2 and not runs:
            runs.append("first")
            ticket = reads.listings.ticket(t2)
            assert ticket is not None
            rival = orders_service._new_order(ticket, "rival", tx.now)
            orders_repository.add(tx, rival, tx.now)
        return reserve_one(tx, request, reads)

    requests = [OrderRequest(ann, t1), OrderRequest(bob, t2)]
    outcomes = reserve_batch(market.api.runtime.commands, market.api._keys, requests, reserve)

    assert [type(outcome) for outcome in outcomes] == [Order, Order]
    assert [order.ticket_id for order in market.api.list_orders(ann)] == [t1]
    assert [order.ticket_id for order in market.api.list_orders(bob)] == [t2]
    with market.engine.connect() as conn:
        owners = conn.execute(select(orders_tables.orders.c.user_id)).scalars().all()
    assert "rival" not in owners and len(owners) == 2
    assert [e.subject for e in market.api.events()].count("order:created") == 2


def test_a_batch_refuses_revoked_tokens_and_those_of_a_user_signed_out_everywhere(
    either_market: Market,
) -> None:
    market = either_market
    _, ann, bob, (t1, t2, t3) = _people_and_tickets(market, 3)
    ann_elsewhere = market.api.signin("ann@example.com", "long enough").token
    market.api.signout(ann)  # this token only
    bob_before = bob
    market.api.signout(bob, everywhere=True)
    bob_now = market.api.signin("bob@example.com", "long enough").token

    outcomes = market.api.create_orders(
        [
            OrderRequest(ann, t1),
            OrderRequest(bob_before, t2),
            OrderRequest(ann_elsewhere, t3),
            OrderRequest(bob_now, t2),
            OrderRequest(None, t1),
        ]
    )

    kinds = [type(outcome) for outcome in outcomes]
    assert kinds == [NotSignedIn, NotSignedIn, Order, Order, NotSignedIn]
    assert [o.ticket_id for o in market.api.list_orders(ann_elsewhere)] == [t3]
    assert [o.ticket_id for o in market.api.list_orders(bob_now)] == [t2]
    assert {ticket.id for ticket in market.api.list_tickets()} == {t1}


def test_tokens_of_more_users_than_one_statement_takes_are_all_found(
    either_market: Market, clock: ManualClock
) -> None:
    """The tokens' users and their revocations are read a chunk of keys per statement: with
    more than one chunk, every user is still found and every revoked token refused."""
    count = KEYS_PER_QUERY + 1  # two chunks of users and two of token ids
    with either_market.uow.write() as tx:
        tx.conn.execute(
            insert(users),
            [
                {
                    "id": f"user{n:04}",
                    "email": f"user{n}@example.com",
                    "password_hash": "not used here",
                    "created_at": clock(),
                }
                for n in range(count)
            ],
        )
        revoked = {f"jti{n:04}" for n in range(0, count, 7)}
        tx.conn.execute(
            insert(revoked_tokens), [{"jti": jti, "expires_at": clock()} for jti in revoked]
        )
    keys = [(f"user{n:04}", f"jti{n:04}", 0) for n in range(count)]
    with either_market.uow.read() as tx:
        active = auth_repository.active_users(tx, keys)

    assert sorted(key[1] for key in active) == sorted({key[1] for key in keys} - revoked)
    assert active[keys[1]].email == "user1@example.com"
