"""Waitlists through the Api in process, on both stores, with the clock in the test's hand:
a reserved ticket whose order ends goes to the first in its line as an order of their own
(for OPENTICKET_OFFER_TTL), an offer that ends unpaid passes to the next, the line's order is
the order of joining, and the ticket is never back on sale while someone waits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from openticket.app.local import LocalApi
from openticket.core.errors import Conflict, DomainError, Forbidden, NotFound
from openticket.core.orders.waitlist import service as waitlist
from tests.conftest import ManualClock
from tests.modes import on_both_stores  # noqa: F401  (db_url: each test on both)

PASSWORD = "correct horse"
ORDER_TTL = 60
OFFER_TTL = 30
HOSTILE = "Gala [/] [bold]x[/bold] <b>"


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api(order_ttl=ORDER_TTL, settings={"offer_ttl_setting": str(OFFER_TTL)})


def _people(api: LocalApi, *names: str) -> list[str]:
    return [api.signup(f"{name}@example.com", PASSWORD).token for name in names]


def _holder(api: LocalApi, ticket_id: str) -> str | None:
    return api.get_ticket(ticket_id).order_id


def _subjects(api: LocalApi) -> list[str]:
    return [event.subject for event in api.events(0, 5000)]


def _kinds(api: LocalApi, token: str) -> list[str]:
    return [n.kind for n in api.notifications(token)]


def test_an_expired_order_goes_to_the_line_in_order_and_the_last_one_pays(
    market: LocalApi, clock: ManualClock
) -> None:
    seller, holder, first, second, third = _people(
        market, "seller", "holder", "first", "second", "third"
    )
    ticket = market.create_ticket(seller, HOSTILE, "40.00")
    market.create_order(holder, ticket.id)
    joined = [market.join_waitlist(token, ticket.id) for token in (first, second, third)]
    assert [(e.status, e.place, e.title) for e in joined] == [
        ("waiting", 1, HOSTILE),
        ("waiting", 2, HOSTILE),
        ("waiting", 3, HOSTILE),
    ]

    clock.advance(ORDER_TTL + 1)  # the holder's window ends unpaid
    [offer] = market.waitlist(first)
    assert offer.status == "offered" and offer.place is None and offer.order_id is not None
    order = market.get_order(first, offer.order_id)
    assert (order.status, order.ticket.id) == ("created", ticket.id)
    assert order.expires_at == offer.offer_expires_at
    assert _holder(market, ticket.id) == order.id
    assert [e.place for e in market.waitlist(second) + market.waitlist(third)] == [1, 2]
    # Nobody else can have it meanwhile.
    with pytest.raises(Conflict, match="already reserved"):
        market.create_order(holder, ticket.id)

    clock.advance(OFFER_TTL + 1)  # the first lets the offer pass
    assert market.waitlist(first)[0].status == "passed"
    assert market.get_order(first, order.id).status == "expired"
    [second_offer] = market.waitlist(second)
    assert second_offer.status == "offered" and second_offer.order_id is not None
    market.cancel_order(second, second_offer.order_id)  # the second declines

    [third_offer] = market.waitlist(third)
    assert third_offer.status == "offered" and third_offer.order_id is not None
    market.pay(third, third_offer.order_id, "tok_visa")
    assert market.get_ticket(ticket.id).status == "sold"
    assert [market.waitlist(t)[0].status for t in (first, second, third)] == [
        "passed",
        "passed",
        "bought",
    ]

    # Never back on sale in between: every ticket event after the listing names an order.
    updates = [e.data for e in market.events(0, 5000) if e.subject == "ticket:updated"]
    assert all(u["status"] != "available" for u in updates)
    offered = [e.data for e in market.events(0, 5000) if e.subject == "waitlist:offered"]
    assert [o["order_id"] for o in offered] == [
        order.id,
        second_offer.order_id,
        third_offer.order_id,
    ]
    expired = [e.data for e in market.events(0, 5000) if e.subject == "waitlist:offer_expired"]
    assert [o["order_id"] for o in expired] == [order.id]
    assert _kinds(market, first) == ["waitlist:offered", "waitlist:offer_expired"]
    assert _kinds(market, second) == ["waitlist:offered"]
    news = market.notifications(third)[0]
    assert news.data["title"] == HOSTILE and news.data["order_id"] == third_offer.order_id


def test_a_line_that_ends_puts_the_ticket_back_on_sale(
    market: LocalApi, clock: ManualClock
) -> None:
    seller, holder, waiter, buyer = _people(market, "seller", "holder", "waiter", "buyer")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    order = market.create_order(holder, ticket.id)
    market.join_waitlist(waiter, ticket.id)
    market.cancel_order(holder, order.id)  # a cancellation passes it on as an expiry does
    [offer] = market.waitlist(waiter)
    assert offer.status == "offered"
    clock.advance(OFFER_TTL + 1)
    assert market.get_ticket(ticket.id).status == "available"
    assert market.create_order(buyer, ticket.id).status == "created"


def test_a_sale_closes_the_line(market: LocalApi) -> None:
    seller, holder, waiter = _people(market, "seller", "holder", "waiter")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    market.pay(holder, market.create_order(holder, ticket.id).id, "tok_visa")
    assert market.waitlist(waiter) == []
    with pytest.raises(Conflict, match="sold"):
        market.join_waitlist(waiter, ticket.id)


def test_a_sale_closes_the_line_of_those_already_waiting(market: LocalApi) -> None:
    seller, holder, waiter = _people(market, "seller", "holder", "waiter")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    order = market.create_order(holder, ticket.id)
    market.join_waitlist(waiter, ticket.id)
    market.pay(holder, order.id, "tok_visa")
    [entry] = market.waitlist(waiter)
    assert (entry.status, entry.place) == ("closed", None)


def test_places_move_up_when_someone_leaves(market: LocalApi, clock: ManualClock) -> None:
    seller, holder, first, second = _people(market, "seller", "holder", "first", "second")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    market.create_order(holder, ticket.id)
    market.join_waitlist(first, ticket.id)
    assert market.join_waitlist(second, ticket.id).place == 2

    left = market.leave_waitlist(first, ticket.id)
    assert left.status == "left"
    assert market.waitlist(second)[0].place == 1
    clock.advance(ORDER_TTL + 1)
    assert market.waitlist(second)[0].status == "offered"
    assert market.waitlist(first)[0].status == "left"


def test_leaving_with_an_offer_passes_it_on(market: LocalApi) -> None:
    seller, holder, first, second = _people(market, "seller", "holder", "first", "second")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    order = market.create_order(holder, ticket.id)
    market.join_waitlist(first, ticket.id)
    market.join_waitlist(second, ticket.id)
    market.cancel_order(holder, order.id)
    offer = market.waitlist(first)[0]
    assert offer.status == "offered"

    market.leave_waitlist(first, ticket.id)
    assert market.get_order(first, str(offer.order_id)).status == "cancelled"
    assert market.waitlist(second)[0].status == "offered"
    assert _holder(market, ticket.id) == market.waitlist(second)[0].order_id


def test_a_late_reservation_finds_the_ticket_offered_to_the_line(
    market: LocalApi, clock: ManualClock
) -> None:
    """Lazy expiry: the holder's window has passed but no timer has run yet. A reservation
    that expires it finds the ticket gone to the first in line, not on sale."""
    seller, holder, waiter, latecomer = _people(market, "seller", "holder", "waiter", "late")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    market.create_order(holder, ticket.id)
    market.join_waitlist(waiter, ticket.id)
    clock.advance(ORDER_TTL + 1)
    with pytest.raises(Conflict, match="already reserved"):
        market.create_order(latecomer, ticket.id)
    assert market.waitlist(waiter)[0].status == "offered"


def test_refused_joins_change_nothing(market: LocalApi) -> None:
    seller, holder, waiter = _people(market, "seller", "holder", "waiter")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    with pytest.raises(Conflict, match="available"):
        market.join_waitlist(waiter, ticket.id)
    market.create_order(holder, ticket.id)
    with pytest.raises(Forbidden):
        market.join_waitlist(seller, ticket.id)
    with pytest.raises(Conflict, match="reservation"):
        market.join_waitlist(holder, ticket.id)
    with pytest.raises(NotFound):
        market.join_waitlist(waiter, "0" * 32)
    with pytest.raises(NotFound):
        market.join_waitlist(waiter, "../x")
    with pytest.raises(NotFound):
        market.leave_waitlist(waiter, ticket.id)
    market.join_waitlist(waiter, ticket.id)
    with pytest.raises(Conflict, match="already"):
        market.join_waitlist(waiter, ticket.id)
    assert [e.place for e in market.waitlist(waiter)] == [1]
    assert market.waitlist(holder) == [] and market.waitlist(seller) == []


def test_a_watcher_is_not_told_of_a_ticket_that_went_to_the_line(
    market: LocalApi, clock: ManualClock
) -> None:
    seller, holder, waiter, watcher = _people(market, "seller", "holder", "waiter", "watcher")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    market.create_order(holder, ticket.id)
    market.add_watch(watcher, "opera")
    market.join_waitlist(waiter, ticket.id)
    clock.advance(ORDER_TTL + 1)
    assert market.waitlist(waiter)[0].status == "offered"
    assert "watch:matched" not in _kinds(market, watcher)
    clock.advance(OFFER_TTL + 1)  # the line is empty now: back on sale, and news
    assert market.get_ticket(ticket.id).status == "available"
    assert _kinds(market, watcher) == ["watch:matched"]


def test_fifty_joiners_racing_an_expiry_get_one_offer_and_an_intact_line(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller, holder = _people(market, "seller", "holder")
    tokens = _people(market, *[f"waiter{n}" for n in range(50)])
    ticket = market.create_ticket(seller, "Opera", "40.00")
    market.create_order(holder, ticket.id)
    start = threading.Barrier(len(tokens) + 1)
    some_joined = threading.Event()
    outcomes: dict[int, Any] = {}
    lock = threading.Lock()

    def join(n: int) -> None:
        start.wait()
        try:
            outcome: Any = market.join_waitlist(tokens[n], ticket.id)
        except DomainError as error:
            outcome = error
        with lock:
            outcomes[n] = outcome
            if len(outcomes) == 10:
                some_joined.set()

    def expire() -> None:
        start.wait()
        some_joined.wait()
        clock.advance(ORDER_TTL + 1)  # the holder's window ends while the rest join
        market.runtime.catch_up()

    threads = [threading.Thread(target=join, args=(n,)) for n in range(len(tokens))]
    threads.append(threading.Thread(target=expire))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refused = [o for o in outcomes.values() if isinstance(o, DomainError)]
    assert refused == [] and len(outcomes) == len(tokens)
    rows = _entries(db_url, ticket.id)
    assert sorted(line for line, _, _ in rows) == list(range(1, len(tokens) + 1))
    offered = [(line, order_id) for line, status, order_id in rows if status == "offered"]
    [(line, order_id)] = offered  # one offer, to the first in line
    assert line == 1 and _live_orders(db_url, ticket.id) == [order_id]
    assert _holder(market, ticket.id) == order_id
    waiting = [e for t in tokens for e in market.waitlist(t) if e.status == "waiting"]
    assert sorted(e.place for e in waiting) == list(range(1, len(tokens)))


def _entries(db_url: str, ticket_id: str) -> list[tuple[int, str, str | None]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT line, status, order_id FROM waitlist_entries WHERE ticket_id = :t"),
                {"t": ticket_id},
            )
            return [(int(r[0]), str(r[1]), r[2]) for r in rows]
    finally:
        engine.dispose()


def _live_orders(db_url: str, ticket_id: str) -> list[str]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id FROM orders WHERE ticket_id = :t "
                    "AND status IN ('created', 'awaiting:payment', 'complete')"
                ),
                {"t": ticket_id},
            )
            return [str(r[0]) for r in rows]
    finally:
        engine.dispose()


def test_the_first_in_line_reserving_after_the_window_gets_their_offer(
    market: LocalApi, clock: ManualClock
) -> None:
    seller, holder, waiter = _people(market, "seller", "holder", "waiter")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    market.create_order(holder, ticket.id)
    market.join_waitlist(waiter, ticket.id)
    clock.advance(ORDER_TTL + 1)  # no timer has run: the reservation expires the holder

    order = market.create_order(waiter, ticket.id)

    assert order.status == "created"
    [entry] = market.waitlist(waiter)
    assert (entry.status, entry.order_id) == ("offered", order.id)


def test_leaving_with_an_offer_past_its_window_passes_it_on(
    market: LocalApi, clock: ManualClock
) -> None:
    """Whether or not an expiry ran first (the Api catches up before it; a use case must
    not count on that)."""
    seller, holder, first, second = _people(market, "seller", "holder", "first", "second")
    ticket = market.create_ticket(seller, "Opera", "40.00")
    order = market.create_order(holder, ticket.id)
    market.join_waitlist(first, ticket.id)
    market.join_waitlist(second, ticket.id)
    market.cancel_order(holder, order.id)
    assert market.waitlist(first)[0].status == "offered"
    clock.advance(OFFER_TTL + 1)
    first_id = market.whoami(first).id

    left = market.runtime.uow.transact(lambda tx: waitlist.leave(tx, first_id, ticket.id))
    market.runtime.commands.deliver()

    assert left.status == "left"
    assert market.waitlist(first)[0].status == "left"
    assert market.waitlist(second)[0].status == "offered"
