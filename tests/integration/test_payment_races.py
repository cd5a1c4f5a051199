"""Payments that race each other, on a real SQLite store with the real `local` provider held
inside its charge: a second attempt while one is charging is refused as in progress (never
answered with the other card's outcome), and a repeat of one Idempotency-Key waits for the
first and gets its answer, a refusal included."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from openticket.app.local import LocalApi
from openticket.app.once import Once
from openticket.core.errors import Conflict, InProgress, PaymentDeclined
from openticket.core.money import Money
from openticket.core.payments.provider import ChargeResult
from openticket.providers.local import LocalProvider
from openticket.store import idempotency
from openticket.store.db import create_store_engine
from tests.conftest import PATIENCE_SECONDS, ManualClock
from tests.integration.test_payments import _reserved, _rows


class HeldProvider(LocalProvider):
    """The real local provider; the first charge waits inside until the test lets it go."""

    def __init__(self, engine: Any, clock: ManualClock) -> None:
        super().__init__(engine, clock)
        self.charging = threading.Event()
        self.go_on = threading.Event()
        self.charges = 0

    def charge(
        self, amount: Money, source: str, idempotency_key: str, transfer_group: str | None = None
    ) -> ChargeResult:
        self.charges += 1
        if self.charges == 1:
            self.charging.set()
            assert self.go_on.wait(PATIENCE_SECONDS)
        return super().charge(amount, source, idempotency_key, transfer_group)


@pytest.fixture
def held(
    make_api: Callable[..., LocalApi], db_url: str, clock: ManualClock
) -> tuple[LocalApi, HeldProvider]:
    provider = HeldProvider(create_store_engine(db_url), clock)
    return make_api(provider=provider), provider


def _while_charging(
    provider: HeldProvider, first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[Future[Any], Future[Any]]:
    """Run `first` until it is inside its charge, then `second` alongside it."""
    pool = ThreadPoolExecutor(2)
    started = pool.submit(first)
    assert provider.charging.wait(PATIENCE_SECONDS)
    other = pool.submit(second)
    return started, other


def test_a_second_card_while_one_is_charging_is_refused(
    held: tuple[LocalApi, HeldProvider], db_url: str
) -> None:
    api, provider = held
    market = _reserved(api)
    order_id = market["order"].id
    first, second = _while_charging(
        provider,
        lambda: api.pay(market["buyer"], order_id, "tok_visa"),
        lambda: api.pay(market["buyer"], order_id, "tok_chargeDeclined"),
    )
    with pytest.raises(InProgress, match="A payment for this order is in progress"):
        second.result(PATIENCE_SECONDS)
    provider.go_on.set()
    assert first.result(PATIENCE_SECONDS).status == "succeeded"
    assert _rows(db_url, "SELECT attempt, source, status FROM payments") == [
        (1, "tok_visa", "succeeded")
    ]
    with pytest.raises(Conflict, match="completed"):
        api.pay(market["buyer"], order_id, "tok_chargeDeclined")


def test_a_repeated_key_waits_for_the_first_and_gets_its_answer(
    held: tuple[LocalApi, HeldProvider], db_url: str
) -> None:
    api, provider = held
    market = _reserved(api)
    order_id = market["order"].id

    def pay() -> Any:
        return api.pay(market["buyer"], order_id, "tok_visa", idempotency_key="pay-once")

    first, repeat = _while_charging(provider, pay, pay)
    assert not repeat.done()  # waiting for the first, not refused
    provider.go_on.set()
    assert repeat.result(PATIENCE_SECONDS) == first.result(PATIENCE_SECONDS)
    assert pay() == first.result()  # and afterwards too
    assert _rows(db_url, "SELECT count(*) FROM payments") == [(1,)]
    assert _rows(db_url, "SELECT count(*) FROM payments_local_charges") == [(1,)]


def test_a_repeated_key_gets_the_first_refusal_without_a_new_attempt(
    api: LocalApi, db_url: str
) -> None:
    market = _reserved(api)
    for _ in range(2):
        with pytest.raises(PaymentDeclined, match="declined"):
            api.pay(market["buyer"], market["order"].id, "tok_chargeDeclined", idempotency_key="k")
    assert _rows(db_url, "SELECT count(*) FROM payments") == [(1,)]
    assert api.pay(market["buyer"], market["order"].id, "tok_visa").status == "succeeded"


def test_a_key_whose_request_died_is_taken_over_after_its_grace(
    api: LocalApi, clock: ManualClock, db_url: str
) -> None:
    market = _reserved(api)
    buyer_id, order_id = market["order"].user_id, market["order"].id
    request = Once("lost", buyer_id, "pay", order_id, "tok_visa")
    with api._uow.write() as tx:  # what a process killed mid-payment leaves: a bare claim
        idempotency.claim(
            tx.conn, buyer_id, "lost", request.fingerprint, tx.now, tx.now + timedelta(seconds=5)
        )
    clock.advance(6)  # its claim has run out
    paid = api.pay(market["buyer"], order_id, "tok_visa", idempotency_key="lost")
    assert paid.status == "succeeded"
    assert api.pay(market["buyer"], order_id, "tok_visa", idempotency_key="lost") == paid
    assert _rows(db_url, "SELECT count(*) FROM payments") == [(1,)]


def test_a_key_held_by_a_payment_cannot_be_taken_by_another_request(
    held: tuple[LocalApi, HeldProvider], db_url: str
) -> None:
    api, provider = held
    market = _reserved(api)
    order_id = market["order"].id
    paying, other = _while_charging(
        provider,
        lambda: api.pay(market["buyer"], order_id, "tok_visa", idempotency_key="shared"),
        lambda: api.create_ticket(market["buyer"], "Mine", "10", idempotency_key="shared"),
    )
    with pytest.raises(Conflict, match="different request"):
        other.result(PATIENCE_SECONDS)
    provider.go_on.set()
    paid = paying.result(PATIENCE_SECONDS)
    again = api.pay(market["buyer"], order_id, "tok_visa", idempotency_key="shared")
    assert again == paid and paid.status == "succeeded"
    assert api.list_tickets(market["buyer"], mine=True) == []
