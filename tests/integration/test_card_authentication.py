"""A card that asks for 3-D Secure, through the Stripe provider and the official SDK (localstripe
behind the project's StripeFront, which FAKES the authentication page): the attempt waits
for the buyer, the order stays payable and expires as an unpaid one does, the outcome comes
by `pay --check`, a webhook or paying again, and an authentication that lands after the
window is refunded. Also a webhook racing `pay` itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openticket.app.local import LocalApi
from openticket.app.stripe_events import StripeEvents
from openticket.core import faults
from openticket.core.errors import Conflict, InProgress, PaymentDeclined
from openticket.core.payments import service as payments
from openticket.core.payments.model import Payment
from openticket.core.ports import Transaction
from openticket.providers.stripe import StripeProvider
from tests.conftest import ManualClock
from tests.stripe_servers import TEST_KEY, LocalStripe, StripeFront

THREE_D_SECURE = "tok_threeDSecure2Required"
RETURN_URL = "https://tickets.example.com/payments/authenticated"


@pytest.fixture
def api(make_api: Callable[..., LocalApi], stripe_front: StripeFront) -> LocalApi:
    provider = StripeProvider(
        TEST_KEY, api_base=stripe_front.url, timeout=5.0, network_retries=0, return_url=RETURN_URL
    )
    return make_api(order_ttl=900, provider=provider)


def _reserved(api: LocalApi) -> dict[str, Any]:
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Gig", "25.00", "USD")
    order = api.create_order(buyer.token, ticket.id)
    return {"buyer": buyer.token, "ticket": ticket, "order": order}


def _intent(backend: LocalStripe, intent_id: str) -> dict[str, Any]:
    return dict(backend.get(f"/v1/payment_intents/{intent_id}"))


def test_the_buyer_authenticates_then_the_check_completes_the_order(
    api: LocalApi, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    market = _reserved(api)
    order_id = market["order"].id

    waiting = api.pay(market["buyer"], order_id, THREE_D_SECURE)

    assert waiting.status == "requires_action"
    assert waiting.action_url == f"{stripe_front.url}/3ds/{waiting.provider_ref}"
    [sent] = stripe_front.charges_sent()
    assert sent.form["return_url"] == RETURN_URL  # where Stripe sends the buyer back
    # Nothing is charged yet, and the order expires as an unpaid one does.
    assert api.get_order(market["buyer"], order_id).status == "created"
    assert api.check_payment(market["buyer"], order_id).status == "requires_action"

    stripe_front.authenticate(str(waiting.provider_ref))
    paid = api.check_payment(market["buyer"], order_id)

    assert (paid.id, paid.status, paid.action_url) == (waiting.id, "succeeded", None)
    assert api.get_order(market["buyer"], order_id).status == "complete"
    assert [entry.ticket.id for entry in api.wallet(market["buyer"])] == [market["ticket"].id]
    assert _intent(stripe_backend, str(paid.provider_ref))["status"] == "succeeded"


def test_paying_again_with_the_same_card_shows_the_same_page_and_no_second_charge(
    api: LocalApi, stripe_front: StripeFront
) -> None:
    market = _reserved(api)
    first = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)

    again = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)

    assert (again.id, again.status, again.action_url) == (
        first.id,
        "requires_action",
        first.action_url,
    )
    assert len(stripe_front.charges_sent()) == 1
    stripe_front.authenticate(str(first.provider_ref))
    assert api.pay(market["buyer"], market["order"].id, THREE_D_SECURE).status == "succeeded"
    assert len(stripe_front.charges_sent()) == 1


def test_another_card_gives_up_the_waiting_one_first(
    api: LocalApi, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)

    paid = api.pay(market["buyer"], market["order"].id, "tok_visa")

    assert paid.status == "succeeded" and paid.id != waiting.id
    # The page can no longer charge the first card: one charge in all.
    assert _intent(stripe_backend, str(waiting.provider_ref))["status"] == "canceled"
    statuses = sorted(intent["status"] for intent in stripe_backend.payment_intents())
    assert statuses == ["canceled", "succeeded"]
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"


def test_a_failed_authentication_is_a_decline_and_the_order_stays_payable(
    api: LocalApi, stripe_front: StripeFront
) -> None:
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)
    stripe_front.authenticate(str(waiting.provider_ref), success=False)

    with pytest.raises(PaymentDeclined, match="failed authentication"):
        api.check_payment(market["buyer"], market["order"].id)

    assert api.get_order(market["buyer"], market["order"].id).status == "created"
    assert api.pay(market["buyer"], market["order"].id, "tok_visa").status == "succeeded"


def test_the_expiry_wins_over_an_abandoned_authentication(
    api: LocalApi, clock: ManualClock, stripe_backend: LocalStripe
) -> None:
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)

    clock.advance(901)  # the window ends while the buyer has not authenticated

    assert api.get_order(market["buyer"], market["order"].id).status == "expired"
    # Given up at Stripe, so that the page can no longer charge the card.
    assert _intent(stripe_backend, str(waiting.provider_ref))["status"] == "canceled"
    with pytest.raises(Conflict, match="order has expired"):
        api.pay(market["buyer"], market["order"].id, "tok_visa")
    with pytest.raises(PaymentDeclined, match="cancelled before it was authenticated"):
        api.check_payment(market["buyer"], market["order"].id)


def test_an_authentication_that_lands_after_the_window_is_refunded(
    api: LocalApi, clock: ManualClock, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)
    stripe_front.authenticate(str(waiting.provider_ref))  # charged, but we do not know yet
    clock.advance(901)

    with pytest.raises(Conflict, match="was refunded"):
        api.check_payment(market["buyer"], market["order"].id)

    assert api.get_order(market["buyer"], market["order"].id).status == "expired"
    [refund] = stripe_backend.refunds()
    assert refund["payment_intent"] == waiting.provider_ref
    assert api.wallet(market["buyer"]) == []


def test_a_late_success_by_webhook_before_the_expiry_is_applied_is_refunded(
    api: LocalApi, clock: ManualClock, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    """The window has ended but no command has expired the order yet when Stripe's event
    says the charge went through: the expiry still wins."""
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)
    stripe_front.authenticate(str(waiting.provider_ref))
    clock.advance(901)
    intent = _intent(stripe_backend, str(waiting.provider_ref))

    event = {"id": "evt_late", "type": "payment_intent.succeeded", "data": {"object": intent}}
    assert StripeEvents(api.runtime).apply(event) is True

    assert api.get_order(market["buyer"], market["order"].id).status == "expired"
    [refund] = stripe_backend.refunds()
    assert refund["payment_intent"] == waiting.provider_ref


def test_a_webhook_and_a_check_racing_complete_the_order_once(
    api: LocalApi, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)
    stripe_front.authenticate(str(waiting.provider_ref))
    intent = _intent(stripe_backend, str(waiting.provider_ref))
    event = {"id": "evt_race", "type": "payment_intent.succeeded", "data": {"object": intent}}

    assert StripeEvents(api.runtime).apply(event) is True
    paid = api.check_payment(market["buyer"], market["order"].id)

    assert (paid.id, paid.status) == (waiting.id, "succeeded")
    completed = [e for e in api.events(0, 500) if e.subject == "order:completed"]
    assert len(completed) == 1
    assert stripe_backend.refunds() == []


def test_a_second_attempt_cannot_begin_beside_one_that_waits(api: LocalApi) -> None:
    """The waiting attempt stays the order's one live attempt (the database's unique index
    and the use case agree): a new one begins only once it is given up."""
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)
    buyer_id = api.get_order(market["buyer"], market["order"].id).user_id

    def begin(tx: Transaction) -> Payment:
        lease = api.runtime.payment_lease
        return payments.begin_payment(tx, buyer_id, waiting.order_id, "tok_visa", "stripe", lease)

    with pytest.raises(InProgress):
        api.runtime.uow.transact(begin)


def test_reconcile_records_an_authentication_whose_news_was_lost(
    api: LocalApi, stripe_front: StripeFront
) -> None:
    market = _reserved(api)
    waiting = api.pay(market["buyer"], market["order"].id, THREE_D_SECURE)
    assert api.reconcile_payments().findings == []  # waiting for its buyer is no problem

    stripe_front.authenticate(str(waiting.provider_ref))  # and no webhook, no check
    [finding] = api.reconcile_payments().findings
    assert (finding.payment_id, finding.problem) == (
        waiting.id,
        "card authenticated and charged, but the outcome was never recorded",
    )
    assert api.reconcile_payments(fix=True).fixed == 1

    assert api.get_order(market["buyer"], market["order"].id).status == "complete"
    assert api.reconcile_payments().findings == []


def test_a_webhook_landing_while_pay_records_its_charge_ends_in_one_state(
    api: LocalApi, stripe_backend: LocalStripe
) -> None:
    """Stripe's `payment_intent.succeeded` is applied between the charge's answer and `pay`
    recording it: one completion, one payment, no refund."""
    market = _reserved(api)
    events = StripeEvents(api.runtime)

    def webhook_first() -> None:
        [intent] = stripe_backend.payment_intents()
        event = {"id": "evt_race", "type": "payment_intent.succeeded", "data": {"object": intent}}
        assert events.apply(event) is True

    with faults.hooked("pay:charged", webhook_first):
        paid = api.pay(market["buyer"], market["order"].id, "pm_card_visa")

    assert paid.status == "succeeded"
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"
    subjects = [e.subject for e in api.events(0, 500)]
    assert (subjects.count("payment:created"), subjects.count("order:completed")) == (1, 1)
    assert stripe_backend.refunds() == []
