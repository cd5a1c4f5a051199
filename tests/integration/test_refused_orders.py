"""An order is made against the orders domain's copy of a listing; when it reaches the tickets
domain that listing may be gone: a resale taken off sale (and its ticket then used at the
door), a price changed, a ticket passed on and listed again by its new holder. The tickets
domain refuses such an order, the orders domain cancels it, and the buyer cannot pay for a
listing that no longer exists, so no code is ever issued for a ticket that was used.

The race is real: two Apis on one store (two processes of one marketplace); the buyer's
reservation is committed after the other process caught up and before its own events are
delivered (faults.hooked at "reserve:committed"); the other process then changes the listing
and delivers everything, the reservation included. (An order reaching the tickets domain
after its listing was sold, passed on and listed again is in tests/e2e/test_scaled_out.py.)"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from openticket.app.local import LocalApi
from openticket.app.schemas import Order
from openticket.core import faults
from openticket.core.errors import Conflict
from tests.conftest import PATIENCE_SECONDS
from tests.modes import on_both_stores  # noqa: F401  (db_url: each test on both)

PASSWORD = "correct horse"


@pytest.fixture
def buyers_process(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api()


@pytest.fixture
def sellers_process(make_api: Callable[..., LocalApi], buyers_process: LocalApi) -> LocalApi:
    return make_api()


def _people(api: LocalApi, *names: str) -> list[str]:
    return [api.signup(f"{name}@example.com", PASSWORD).token for name in names]


def _held_and_relisted(api: LocalApi, issuer: str, holder: str, price: str) -> str:
    """A ticket `issuer` listed, `holder` bought and lists again at `price`."""
    ticket = api.create_ticket(issuer, "Gig", "20.00")
    api.pay(holder, api.create_order(holder, ticket.id).id, "tok_visa")
    api.resell(holder, ticket.id, price)
    return ticket.id


class _Paused:
    """A command in a thread of its own, paused at a fault point until `finish`."""

    def __init__(self, point: str, command: Callable[[], object]) -> None:
        self._inside, self._released = threading.Event(), threading.Event()
        self._outcome: object = None
        self._thread = threading.Thread(target=self._run, args=(command,))
        self._hook = faults.hooked(point, self._pause)
        self._hook.__enter__()
        self._thread.start()
        assert self._inside.wait(PATIENCE_SECONDS), f"the command never reached {point}"

    def _run(self, command: Callable[[], object]) -> None:
        try:
            self._outcome = command()
        except Exception as error:
            self._outcome = error

    def _pause(self) -> None:
        if threading.current_thread() is self._thread:
            self._inside.set()
            assert self._released.wait(PATIENCE_SECONDS), "never released"

    def finish(self) -> object:
        self._released.set()
        self._thread.join(PATIENCE_SECONDS)
        self._hook.__exit__(None, None, None)
        assert not self._thread.is_alive()
        if isinstance(self._outcome, Exception):
            raise self._outcome
        return self._outcome


def _reserved_while(
    buyers_process: LocalApi, buyer: str, ticket_id: str, change: str, command: Callable[[], object]
) -> str:
    """The buyer's order of `ticket_id`, committed after the other process caught up and
    before it ran `command` (named `change`); delivered only after that."""
    changing = _Paused(f"{change}:starting", command)
    reserving = _Paused("reserve:committed", lambda: buyers_process.create_order(buyer, ticket_id))
    changing.finish()
    order = reserving.finish()
    assert isinstance(order, Order)
    return order.id


def test_a_resale_withdrawn_while_a_reservation_is_in_flight_cancels_that_order(
    buyers_process: LocalApi, sellers_process: LocalApi
) -> None:
    issuer, holder, buyer = _people(buyers_process, "issuer", "holder", "buyer")
    ticket_id = _held_and_relisted(buyers_process, issuer, holder, "22.00")
    code = buyers_process.wallet_entry(holder, ticket_id).code

    order_id = _reserved_while(
        buyers_process,
        buyer,
        ticket_id,
        "cancel-resale",
        lambda: sellers_process.cancel_resale(holder, ticket_id),
    )

    assert buyers_process.get_order(buyer, order_id).status == "cancelled"
    with pytest.raises(Conflict, match="no longer on sale as reserved"):
        buyers_process.pay(buyer, order_id, "tok_visa")
    ticket = buyers_process.get_ticket(ticket_id)
    assert (ticket.status, ticket.order_id) == ("sold", None)
    # The holder still holds it and goes in with the code; nobody else ever gets one.
    sellers_process.check_in(issuer, code)
    assert buyers_process.verify_code(code).status == "used"
    assert buyers_process.wallet(buyer) == []
    assert [o.status for o in buyers_process.list_orders(buyer)] == ["cancelled"]
    with pytest.raises(Conflict):  # a used ticket is not for sale, to this buyer or any
        buyers_process.resell(holder, ticket_id, "22.00")


def test_a_price_changed_while_a_reservation_is_in_flight_cancels_that_order(
    buyers_process: LocalApi, sellers_process: LocalApi
) -> None:
    seller, buyer = _people(buyers_process, "seller", "buyer")
    ticket = buyers_process.create_ticket(seller, "Gig", "20.00")

    order_id = _reserved_while(
        buyers_process,
        buyer,
        ticket.id,
        "update-ticket",
        lambda: sellers_process.update_ticket(seller, ticket.id, price="35.00"),
    )

    assert buyers_process.get_order(buyer, order_id).status == "cancelled"
    assert buyers_process.get_ticket(ticket.id).status == "available"
    again = buyers_process.create_order(buyer, ticket.id)  # at the price now asked
    assert again.ticket.price == "35.00"
    buyers_process.pay(buyer, again.id, "tok_visa")
    assert buyers_process.wallet_entry(buyer, ticket.id).paid == "35.00"
