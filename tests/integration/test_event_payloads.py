"""Every event the marketplace writes has exactly the shape its subject's payload type in
core/events.py declares: the one definition emitters build and handlers read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, get_type_hints, is_typeddict

import pytest

from openticket.app.local import LocalApi
from openticket.core.errors import Conflict, PaymentDeclined
from openticket.core.events import PAYLOADS
from openticket.core.money import Money
from openticket.core.payments.provider import ChargeResult
from openticket.store.db import create_store_engine
from tests.conftest import ManualClock
from tests.integration.test_payments import RacingProvider, _ended_before_the_start_was_applied
from tests.integration.test_refused_orders import _reserved_while


def _mismatches(shape: type[Mapping[str, Any]], data: Mapping[str, Any], at: str) -> list[str]:
    required = set(shape.__required_keys__)  # type: ignore[attr-defined]
    declared = required | set(shape.__optional_keys__)  # type: ignore[attr-defined]
    fits = required <= set(data) <= declared
    found = [] if fits else [f"{at}: keys {sorted(data)} are not {sorted(declared)}"]
    for key, kind in get_type_hints(shape).items():
        if is_typeddict(kind) and isinstance(data.get(key), Mapping):
            found += _mismatches(kind, data[key], f"{at}.{key}")
    return found


class AskingProvider(RacingProvider):
    """A FAKE on top of the local provider, which has no card authentication: this one card
    asks for 3-D Secure (the Stripe provider's real flow: test_card_authentication.py)."""

    def charge(
        self, amount: Money, source: str, idempotency_key: str, transfer_group: str | None = None
    ) -> ChargeResult:
        if source == "tok_threeDSecure2Required":
            return ChargeResult(False, f"ch_asks_{idempotency_key}", action_url=_PAGE)
        return super().charge(amount, source, idempotency_key, transfer_group)

    def charge_outcome(self, provider_ref: str) -> ChargeResult:
        if provider_ref.startswith("ch_asks_"):
            return ChargeResult(False, provider_ref, action_url=_PAGE)  # never authenticated
        return super().charge_outcome(provider_ref)

    def cancel_charge(self, provider_ref: str, idempotency_key: str) -> ChargeResult:
        if provider_ref.startswith("ch_asks_"):
            return ChargeResult(False, provider_ref, "cancelled")
        return super().cancel_charge(provider_ref, idempotency_key)


_PAGE = "https://bank.example/3ds"


def test_every_subject_is_written_in_its_declared_shape(
    make_api: Callable[..., LocalApi], clock: ManualClock, db_url: str
) -> None:
    provider = AskingProvider(create_store_engine(db_url), clock)
    api = make_api(provider=provider, order_ttl=60)
    seller = api.signup("seller@example.com", "long enough").token
    buyer = api.signup("buyer@example.com", "long enough").token
    waiter = api.signup("waiter@example.com", "long enough").token
    api.add_watch(buyer, "Show 1")  # a saved search: its match is an event too
    first, second, third, fourth, fifth, sixth = (
        api.create_ticket(seller, f"Show {n}", "10.00") for n in range(6)
    )
    api.update_ticket(seller, first.id, title="Show 0, balcony")
    paid = api.create_order(buyer, first.id)
    with pytest.raises(PaymentDeclined):
        api.pay(buyer, paid.id, "tok_chargeDeclined")
    assert api.pay(buyer, paid.id, "tok_threeDSecure2Required").action_url == _PAGE
    api.pay(buyer, paid.id, "tok_visa")  # another card: the one that asked is given up
    api.transfer(buyer, first.id, "seller@example.com")  # a gift back to its issuer
    api.check_in(seller, api.wallet_entry(seller, first.id).code)
    api.cancel_order(buyer, api.create_order(buyer, second.id).id)
    expiring = api.create_order(buyer, third.id)
    clock.advance(61)
    api.runtime.fire_due_expirations(datetime.fromisoformat(expiring.expires_at))
    late = api.create_order(buyer, fourth.id)
    provider.during_charge = lambda: _ended_before_the_start_was_applied(api, late)
    with pytest.raises(Conflict, match="refunded"):
        api.pay(buyer, late.id, "tok_visa")
    refunded = api.create_order(buyer, sixth.id)
    api.pay(buyer, refunded.id, "tok_visa")
    api.refund_order(seller, refunded.id)
    other_process = make_api(provider=provider, order_ttl=60)
    _reserved_while(  # and repriced meanwhile: refused
        api,
        buyer,
        fifth.id,
        "update-ticket",
        lambda: other_process.update_ticket(seller, fifth.id, price="12.00"),
    )

    lined = api.create_ticket(seller, "Show 7", "10.00")
    api.create_order(buyer, lined.id)
    api.join_waitlist(waiter, lined.id)
    clock.advance(61)
    assert api.waitlist(waiter)[0].status == "offered"
    clock.advance(301)
    assert api.waitlist(waiter)[0].status == "passed"

    written = api.events(after=0, limit=1000)
    problems = [
        problem
        for event in written
        for problem in _mismatches(PAYLOADS[event.subject], event.data, event.subject)
    ]
    assert problems == []
    assert {event.subject for event in written} == set(PAYLOADS)
