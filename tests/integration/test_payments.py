"""Payments with the built-in `local` provider: one charge per order, declines, and the race
the original ignored: a charge that lands after the order ended is refunded automatically."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from openticket.app.local import LocalApi
from openticket.core.errors import (
    Conflict,
    Forbidden,
    InProgress,
    InvalidInput,
    NotFound,
    PaymentDeclined,
    Unavailable,
)
from openticket.core.money import Money
from openticket.core.orders import service as orders_service
from openticket.core.orders import tables as orders_tables
from openticket.core.payments import tables as payments_tables
from openticket.core.payments.provider import ChargeResult
from openticket.providers.local import LocalProvider
from openticket.store.db import create_store_engine
from tests.conftest import ManualClock


def _rows(db_url: str, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Path(db_url.removeprefix("sqlite:///"))) as conn:
        return conn.execute(query).fetchall()


def _reserved(api: LocalApi, price: str = "25.00", currency: str = "USD") -> dict[str, Any]:
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Gig", price, currency)
    order = api.create_order(buyer.token, ticket.id)
    return {"seller": seller.token, "buyer": buyer.token, "ticket": ticket, "order": order}


def test_pay_in_jpy_charges_whole_yen(api: LocalApi, db_url: str) -> None:
    market = _reserved(api, "500", "JPY")
    payment = api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    assert (payment.amount, payment.currency, payment.status) == ("500", "JPY", "succeeded")
    assert _rows(db_url, "SELECT amount_minor, currency FROM payments_local_charges") == [
        (500, "JPY")
    ]


def test_decline_then_success_on_retry(api: LocalApi, db_url: str) -> None:
    market = _reserved(api)
    with pytest.raises(PaymentDeclined, match="insufficient funds"):
        api.pay(market["buyer"], market["order"].id, "tok_chargeDeclinedInsufficientFunds")
    assert api.get_order(market["buyer"], market["order"].id).status == "created"
    payment = api.pay(market["buyer"], market["order"].id, "tok_visa")
    assert payment.status == "succeeded"
    keys = _rows(db_url, "SELECT idempotency_key, status FROM payments ORDER BY attempt")
    assert [status for _, status in keys] == ["failed", "succeeded"]
    assert keys[0][0] != keys[1][0]  # a retry after a decline is a new attempt
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"


def test_second_payment_is_refused_and_charges_nothing(api: LocalApi, db_url: str) -> None:
    market = _reserved(api)
    api.pay(market["buyer"], market["order"].id, "tok_visa")
    with pytest.raises(Conflict, match="completed"):
        api.pay(market["buyer"], market["order"].id, "tok_visa")
    assert _rows(db_url, "SELECT count(*) FROM payments_local_charges") == [(1,)]


def test_payment_checks(api: LocalApi, clock: ManualClock) -> None:
    market = _reserved(api)
    other = api.signup("other@example.com", "long enough")
    with pytest.raises(Forbidden):
        api.pay(other.token, market["order"].id, "tok_visa")
    with pytest.raises(NotFound):
        api.pay(market["buyer"], "no-such-order", "tok_visa")
    with pytest.raises(InvalidInput, match="No such payment token"):
        api.pay(market["buyer"], market["order"].id, "4242424242424242")
    api.cancel_order(market["buyer"], market["order"].id)
    with pytest.raises(Conflict, match="cancelled"):
        api.pay(market["buyer"], market["order"].id, "tok_visa")


def test_paying_an_expired_order_is_refused(api: LocalApi, clock: ManualClock) -> None:
    market = _reserved(api)
    clock.advance(901)
    with pytest.raises(Conflict, match="expired"):
        api.pay(market["buyer"], market["order"].id, "tok_visa")


class RacingProvider(LocalProvider):
    """The real local provider, with something happening while the charge is under way."""

    def __init__(self, engine: Any, clock: ManualClock) -> None:
        super().__init__(engine, clock)
        self.during_charge: Callable[[], None] = lambda: None

    def charge(
        self, amount: Money, source: str, idempotency_key: str, transfer_group: str | None = None
    ) -> ChargeResult:
        self.during_charge()
        return super().charge(amount, source, idempotency_key, transfer_group)


@pytest.fixture
def racing(
    make_api: Callable[..., LocalApi], db_url: str, clock: ManualClock
) -> tuple[LocalApi, RacingProvider]:
    provider = RacingProvider(create_store_engine(db_url), clock)
    return make_api(provider=provider), provider


def test_a_window_that_ends_while_the_card_is_charged_waits_for_the_outcome(
    make_api: Callable[..., LocalApi], clock: ManualClock, db_url: str
) -> None:
    provider = RacingProvider(create_store_engine(db_url), clock)
    api = make_api(provider=provider, order_ttl=5)  # a window shorter than a charge's grace
    market = _reserved(api)
    rival = api.signup("rival@example.com", "long enough")
    seen: list[str] = []

    def window_ends_and_a_rival_tries() -> None:
        clock.advance(6)
        seen.append(api.get_order(market["buyer"], market["order"].id).status)
        with pytest.raises(Conflict, match="already reserved"):
            api.create_order(rival.token, market["ticket"].id)
        with pytest.raises(Conflict, match="payment for this order is in progress"):
            api.cancel_order(market["buyer"], market["order"].id)

    provider.during_charge = window_ends_and_a_rival_tries
    assert api.pay(market["buyer"], market["order"].id, "tok_visa").status == "succeeded"
    assert seen == ["awaiting:payment"]
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"
    assert api.get_ticket(market["ticket"].id).status == "sold"
    assert _rows(db_url, "SELECT status FROM payments") == [("succeeded",)]


def test_a_declined_card_after_the_window_ends_the_order(
    make_api: Callable[..., LocalApi], clock: ManualClock, db_url: str
) -> None:
    provider = RacingProvider(create_store_engine(db_url), clock)
    api = make_api(provider=provider, order_ttl=5)
    market = _reserved(api)
    provider.during_charge = lambda: clock.advance(6)
    with pytest.raises(PaymentDeclined):
        api.pay(market["buyer"], market["order"].id, "tok_chargeDeclined")
    assert api.get_order(market["buyer"], market["order"].id).status == "expired"
    assert api.get_ticket(market["ticket"].id).status == "available"


def _ended_before_the_start_was_applied(api: LocalApi, order: Any) -> None:
    """The order's window ends before the orders domain applied `payment:started` (a broker
    delivering it late): the charge lands on an order that has ended."""
    with api._uow.write() as tx:
        tx.conn.execute(
            update(orders_tables.orders)
            .where(orders_tables.orders.c.id == order.id)
            .values(status="created")
        )
        orders_service.expire(tx, orders_service.get_order(tx, order.user_id, order.id))


def test_charge_landing_after_the_order_ended_is_refunded(
    racing: tuple[LocalApi, RacingProvider], clock: ManualClock, db_url: str
) -> None:
    api, provider = racing
    market = _reserved(api)
    rival = api.signup("rival@example.com", "long enough")
    rival_order: list[Any] = []

    def ended_and_resold() -> None:
        _ended_before_the_start_was_applied(api, market["order"])
        rival_order.append(api.create_order(rival.token, market["ticket"].id))

    provider.during_charge = ended_and_resold
    with pytest.raises(Conflict, match="refunded"):
        api.pay(market["buyer"], market["order"].id, "tok_visa")

    assert api.get_order(market["buyer"], market["order"].id).status == "expired"
    assert api.get_ticket(market["ticket"].id).order_id == rival_order[0].id
    assert _rows(db_url, "SELECT status FROM payments") == [("refunded",)]
    [(refund_id,)] = _rows(db_url, "SELECT refund_id FROM payments_local_charges")
    assert refund_id is not None
    refunded = [e for e in api.events() if e.subject == "payment:refunded"]
    assert len(refunded) == 1 and refunded[0].data["refund_ref"] == refund_id
    # The rival can still buy the ticket: it is sold once.
    provider.during_charge = lambda: None
    assert api.pay(rival.token, rival_order[0].id, "tok_visa").status == "succeeded"
    assert api.get_ticket(market["ticket"].id).status == "sold"


def test_charge_recorded_before_the_cancellation_arrives_is_refunded(
    racing: tuple[LocalApi, RacingProvider], db_url: str
) -> None:
    """Orders cancels (committed, not yet delivered) while payments records the charge: the
    payment is announced, orders ignores it, and payments refunds on seeing the cancellation."""
    api, provider = racing
    market = _reserved(api)
    provider.during_charge = lambda: _ended_before_the_start_was_applied(api, market["order"])
    with pytest.raises(Conflict, match="refunded"):
        api.pay(market["buyer"], market["order"].id, "tok_visa")
    subjects = [e.subject for e in api.events()]
    assert subjects.count("payment:created") == 1
    assert subjects.count("payment:refunded") == 1
    assert "order:completed" not in subjects
    assert api.get_ticket(market["ticket"].id).status == "available"
    assert _rows(db_url, "SELECT status FROM payments") == [("refunded",)]


class Crash(BaseException):
    """The process dies (nothing after this point runs)."""


def _paid_then_crashed(api: LocalApi, provider: RacingProvider) -> dict[str, Any]:
    """A reserved order whose `pay` died after the provider charged, before recording it."""
    market = _reserved(api)
    real_charge = LocalProvider.charge

    def charge_then_crash(
        self: Any, amount: Money, source: str, key: str, group: str | None = None
    ) -> ChargeResult:
        real_charge(self, amount, source, key, group)
        raise Crash

    provider.charge = charge_then_crash.__get__(provider)  # type: ignore[method-assign]
    with pytest.raises(Crash):
        api.pay(market["buyer"], market["order"].id, "tok_visa")
    del provider.charge  # the next process charges normally
    return market


def test_a_charge_whose_process_died_is_recorded_by_the_next_command(
    racing: tuple[LocalApi, RacingProvider], clock: ManualClock, db_url: str
) -> None:
    api, provider = racing
    market = _paid_then_crashed(api, provider)
    assert api.get_order(market["buyer"], market["order"].id).status == "awaiting:payment"
    clock.advance(901)  # long past the attempt's grace, and past the order's window
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"
    assert _rows(db_url, "SELECT status FROM payments") == [("succeeded",)]
    assert _rows(db_url, "SELECT count(*) FROM payments_local_charges") == [(1,)]
    assert api.get_ticket(market["ticket"].id).status == "sold"
    assert api.reconcile_payments().findings == []


def test_reconcile_leaves_an_attempt_in_its_grace_alone(
    racing: tuple[LocalApi, RacingProvider], clock: ManualClock, db_url: str
) -> None:
    """Within its grace an attempt may be charging in a live process: `reconcile --fix` must
    not record it as failed (the buyer, told "declined", would pay again)."""
    api, provider = racing
    market = _paid_then_crashed(api, provider)
    assert api.reconcile_payments(fix=True).findings == []
    assert _rows(db_url, "SELECT status FROM payments") == [("pending",)]
    clock.advance(11)  # past the grace of the local provider (10 s)
    assert api.reconcile_payments().findings == []  # its catch-up drove the attempt again
    assert _rows(db_url, "SELECT status FROM payments") == [("succeeded",)]
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"


def test_an_outcome_unknown_for_long_stops_holding_the_ticket(
    racing: tuple[LocalApi, RacingProvider], clock: ManualClock, db_url: str
) -> None:
    """A provider that cannot tell an outcome keeps the order waiting, but not for ever: an
    hour after its window it expires, and a charge that turns up later is refunded."""
    api, provider = racing
    market = _reserved(api)

    def network_down() -> None:
        raise ConnectionError("network down")

    provider.during_charge = network_down
    with pytest.raises(Unavailable):
        api.pay(market["buyer"], market["order"].id, "tok_visa")
    clock.advance(900 + 1800)
    assert api.get_order(market["buyer"], market["order"].id).status == "awaiting:payment"
    clock.advance(1801)  # an hour past the window
    assert api.get_order(market["buyer"], market["order"].id).status == "expired"
    assert api.get_ticket(market["ticket"].id).status == "available"
    provider.during_charge = lambda: None  # the provider answers again: it had charged
    clock.advance(11)
    api.list_tickets()
    assert _rows(db_url, "SELECT status FROM payments") == [("refunded",)]
    assert _rows(db_url, "SELECT refund_id IS NOT NULL FROM payments_local_charges") == [(1,)]


def test_an_attempt_of_another_provider_is_left_to_a_process_that_has_it(
    make_api: Callable[..., LocalApi], db_url: str, clock: ManualClock
) -> None:
    local = make_api()
    market = _reserved(local)
    with local._uow.write() as tx:  # a Stripe attempt whose process died
        tx.conn.execute(
            payments_tables.payments.insert().values(
                id="f" * 32,
                order_id=market["order"].id,
                attempt=1,
                status="pending",
                amount_minor=2500,
                currency="USD",
                provider="stripe",
                source="pm_card_visa",
                idempotency_key=f"openticket-{market['order'].id}-1",
                lease_until=tx.now,
                created_at=tx.now,
                updated_at=tx.now,
            )
        )
    clock.advance(60)
    local.list_tickets()  # catches up: not with the local provider
    assert _rows(db_url, "SELECT status, provider FROM payments") == [("pending", "stripe")]
    with pytest.raises(InProgress):  # nor is a second card charged meanwhile
        local.pay(market["buyer"], market["order"].id, "tok_visa")


def test_reconcile_flags_a_completed_order_whose_charge_is_missing(
    api: LocalApi, db_url: str
) -> None:
    market = _reserved(api)
    api.pay(market["buyer"], market["order"].id, "tok_visa")
    with sqlite3.connect(Path(db_url.removeprefix("sqlite:///"))) as conn:
        conn.execute("DELETE FROM payments_local_charges")
    report = api.reconcile_payments(fix=True)
    assert [f.problem for f in report.findings] == [
        "completed order's charge is missing at the provider"
    ]
    assert report.findings[0].action == "flagged for manual review"
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"


def test_interrupted_attempt_is_driven_again_with_the_same_key(
    racing: tuple[LocalApi, RacingProvider], db_url: str
) -> None:
    api, provider = racing
    market = _reserved(api)

    def network_down() -> None:
        raise ConnectionError("network down")

    provider.during_charge = network_down
    with pytest.raises(Exception, match="could not be reached"):
        api.pay(market["buyer"], market["order"].id, "tok_visa")
    provider.during_charge = lambda: None
    payment = api.pay(market["buyer"], market["order"].id, "tok_visa")
    assert payment.status == "succeeded"
    assert _rows(db_url, "SELECT count(*), max(attempt) FROM payments") == [(1, 1)]
    assert _rows(db_url, "SELECT count(*) FROM payments_local_charges") == [(1,)]
