"""Where a worker loop tends the store (a server, a worker), a read never writes: an overdue
order shows as expired through the lazy-expiry rule, and the worker writes the expiry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from openticket.app.local import LocalApi
from openticket.app.schemas import Order, Ticket
from tests.conftest import PATIENCE_SECONDS, ManualClock, dump_store, eventually


def _market(api: LocalApi, title: str) -> tuple[str, Ticket, Order]:
    """A listing and a buyer's order for it: (the buyer's token, the ticket, the order)."""
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket = api.create_ticket(seller.token, title, "15.00")
    return buyer.token, ticket, api.create_order(buyer.token, ticket.id)


@contextmanager
def tended(api: LocalApi) -> Iterator[None]:
    """The api's worker loop running, its periodic catch-up far off (the test drives it)."""
    api.runtime.tend_seconds = 3600
    stop = threading.Event()
    worker = threading.Thread(target=api.runtime.work, args=(stop,))
    worker.start()
    try:
        eventually(lambda: api.runtime.tending, what="the worker loop")
        yield
    finally:
        stop.set()
        worker.join(PATIENCE_SECONDS)


def test_a_read_while_a_worker_tends_shows_the_expiry_and_writes_nothing(
    make_api: Callable[..., LocalApi], clock: ManualClock, db_url: str
) -> None:
    api = make_api(order_ttl=60)
    token, ticket, order = _market(api, "Late show")
    database = Path(db_url.removeprefix("sqlite:///"))
    with tended(api):
        clock.advance(61)
        before = dump_store(database)
        assert api.get_order(token, order.id).status == "expired"
        assert [o.status for o in api.list_orders(token)] == ["expired"]
        assert api.get_ticket(ticket.id).status == "reserved"  # not written yet
        api.list_tickets()
        api.events(after=0, limit=100)
        assert dump_store(database) == before  # the reads wrote nothing
        api.runtime.catch_up(leftovers=True)  # what the worker loop does each second
        assert api.get_ticket(ticket.id).status == "available"
    assert not api.runtime.tending  # a stopped worker tends nothing: reads catch up again


def test_without_a_worker_a_read_applies_what_is_overdue(
    make_api: Callable[..., LocalApi], clock: ManualClock
) -> None:
    api = make_api(order_ttl=60)
    _token, ticket, _order = _market(api, "Late show")
    clock.advance(61)
    assert api.get_ticket(ticket.id).status == "available"  # nothing else would apply it


def test_an_order_paid_in_time_is_not_shown_as_expired(
    make_api: Callable[..., LocalApi], clock: ManualClock
) -> None:
    api = make_api(order_ttl=60)
    token, _ticket, order = _market(api, "Show")
    api.pay(token, order.id, "tok_visa")
    with tended(api):
        clock.advance(3600 * 5)
        assert api.get_order(token, order.id).status == "complete"
