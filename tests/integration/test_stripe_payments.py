"""Payments through the Stripe provider and the official SDK, against localstripe on loopback;
the project's own StripeFront (tests/stripe_servers.py) adds declines, faults and a record of
what was sent."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe

from openticket.app.local import LocalApi
from openticket.core.errors import Conflict, InvalidInput, PaymentDeclined, Unavailable
from openticket.core.money import Money
from openticket.core.payments.provider import ChargeResult
from openticket.providers.stripe import StripeProvider
from tests.conftest import ManualClock, free_port
from tests.integration.test_payments import _ended_before_the_start_was_applied
from tests.stripe_servers import TEST_KEY, Fault, LocalStripe, StripeFront, orphan_charge


def _rows(db_url: str, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(Path(db_url.removeprefix("sqlite:///"))) as conn:
        return conn.execute(query).fetchall()


MakeStripeApi = Callable[..., tuple[LocalApi, StripeProvider]]


@pytest.fixture
def stripe_api(make_api: Callable[..., LocalApi]) -> MakeStripeApi:
    def make(
        base: str, *, network_retries: int = 0, timeout: float = 5.0
    ) -> tuple[LocalApi, StripeProvider]:
        provider = StripeProvider(
            TEST_KEY, api_base=base, timeout=timeout, network_retries=network_retries
        )
        return make_api(provider=provider), provider

    return make


def _reserved(api: LocalApi, price: str = "25.00", currency: str = "USD") -> dict[str, Any]:
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Gig", price, currency)
    order = api.create_order(buyer.token, ticket.id)
    return {"seller": seller.token, "buyer": buyer.token, "ticket": ticket, "order": order}


@pytest.mark.parametrize(
    ("price", "currency", "amount"), [("25.00", "USD", 2500), ("500", "JPY", 500)]
)
def test_charge_in_the_minor_unit_through_the_sdk(
    stripe_api: MakeStripeApi,
    stripe_backend: LocalStripe,
    stripe_front: StripeFront,
    db_url: str,
    price: str,
    currency: str,
    amount: int,
) -> None:
    api, _ = stripe_api(stripe_front.url)  # localstripe refuses a transfer_group: the front not
    market = _reserved(api, price, currency)
    payment = api.pay(market["buyer"], market["order"].id, "pm_card_visa")

    assert (payment.status, payment.provider, payment.amount) == ("succeeded", "stripe", price)
    [intent] = stripe_backend.payment_intents()
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        amount,
        currency.lower(),
        "succeeded",
    )
    assert payment.provider_ref == intent["id"]
    [(key,)] = _rows(db_url, "SELECT idempotency_key FROM payments")
    assert intent["metadata"] == {"openticket_key": key}
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"
    assert api.get_ticket(market["ticket"].id).status == "sold"


def test_request_carries_the_key_amount_and_card_token(
    stripe_api: MakeStripeApi, stripe_front: StripeFront
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api, "12.50", "EUR")
    api.pay(market["buyer"], market["order"].id, "tok_visa")

    [sent] = stripe_front.charges_sent()
    assert sent.authorized
    assert sent.idempotency_key == f"openticket-{market['order'].id}-1"
    assert sent.form["amount"] == "1250" and sent.form["currency"] == "eur"
    assert sent.form["confirm"] == "true"
    assert sent.form["payment_method_types[0]"] == "card"
    assert sent.form["payment_method_data[type]"] == "card"
    assert sent.form["payment_method_data[card][token]"] == "tok_visa"
    assert sent.form["metadata[openticket_key]"] == sent.idempotency_key


def test_decline_then_success_with_a_new_key(
    stripe_api: MakeStripeApi, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    with pytest.raises(PaymentDeclined, match="Your card has insufficient funds"):
        api.pay(market["buyer"], market["order"].id, "tok_chargeDeclinedInsufficientFunds")
    assert api.get_order(market["buyer"], market["order"].id).status == "created"

    payment = api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    assert payment.status == "succeeded"
    keys = [sent.idempotency_key for sent in stripe_front.charges_sent()]
    order_id = market["order"].id
    assert keys == [f"openticket-{order_id}-1", f"openticket-{order_id}-2"]
    assert [i["status"] for i in stripe_backend.payment_intents()] == ["succeeded"]


def test_response_lost_after_the_charge_then_retry_charges_once(
    stripe_api: MakeStripeApi, stripe_front: StripeFront, stripe_backend: LocalStripe, db_url: str
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    stripe_front.faults.append(Fault("/v1/payment_intents", "drop_after"))
    with pytest.raises(Unavailable, match=r"Stripe could not be reached .* stays payable"):
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    assert _rows(db_url, "SELECT status FROM payments") == [("pending",)]
    # The order waits for the outcome (it does not expire under an unknown charge).
    assert _rows(db_url, "SELECT status FROM orders") == [("awaiting:payment",)]

    payment = api.pay(market["buyer"], market["order"].id, "pm_card_visa")  # "try again"
    assert payment.status == "succeeded"
    first, second = stripe_front.charges_sent()
    assert first.idempotency_key == second.idempotency_key
    assert len(stripe_backend.payment_intents()) == 1


def test_sdk_retry_of_a_lost_response_charges_once(
    stripe_api: MakeStripeApi, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    api, _ = stripe_api(stripe_front.url, network_retries=2)
    market = _reserved(api)
    stripe_front.faults.append(Fault("/v1/payment_intents", "drop_after"))
    assert api.pay(market["buyer"], market["order"].id, "pm_card_visa").status == "succeeded"
    keys = {sent.idempotency_key for sent in stripe_front.charges_sent()}
    assert len(stripe_front.charges_sent()) == 2 and len(keys) == 1
    assert len(stripe_backend.payment_intents()) == 1


def test_timeout_then_retry_charges_once(
    stripe_api: MakeStripeApi, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    api, _ = stripe_api(stripe_front.url, timeout=0.5)
    stripe_front.late_seconds = 3
    market = _reserved(api)
    stripe_front.faults.append(Fault("/v1/payment_intents", "late_after"))
    with pytest.raises(Unavailable, match=r"Stripe could not be reached \(timed out\)"):
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    assert api.pay(market["buyer"], market["order"].id, "pm_card_visa").status == "succeeded"
    assert len(stripe_backend.payment_intents()) == 1


def test_stripe_error_text_is_passed_on_and_the_order_stays_payable(
    stripe_api: MakeStripeApi, stripe_front: StripeFront
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    problem = {"error": {"type": "api_error", "message": "Something went wrong on Stripe's end."}}
    stripe_front.faults.append(Fault("/v1/payment_intents", "status", 500, problem))
    with pytest.raises(Unavailable, match="Stripe error: Something went wrong on Stripe's end"):
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    assert api.pay(market["buyer"], market["order"].id, "pm_card_visa").status == "succeeded"


def test_unknown_payment_method_is_refused_and_leaves_the_order_payable(
    stripe_api: MakeStripeApi, stripe_backend: LocalStripe, stripe_front: StripeFront
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    with pytest.raises(InvalidInput, match="Stripe refused the payment"):
        api.pay(market["buyer"], market["order"].id, "pm_no_such_card")
    with pytest.raises(InvalidInput, match="Not a Stripe payment method"):
        api.pay(market["buyer"], market["order"].id, "4242 4242 4242 4242")
    assert api.pay(market["buyer"], market["order"].id, "pm_card_visa").status == "succeeded"


def test_unreachable_stripe_is_a_clear_error(
    stripe_api: MakeStripeApi, db_url: str, make_api: Callable[..., LocalApi]
) -> None:
    api, _ = stripe_api(f"http://127.0.0.1:{free_port()}")
    market = _reserved(api)
    with pytest.raises(Unavailable) as raised:
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    assert raised.value.message == (
        "Stripe could not be reached (connection failed). The order stays payable: try again."
    )
    # Whether Stripe charged is unknown: the order waits for it, and the next command (or
    # the buyer's retry) asks Stripe again with the same key.
    assert api.get_order(market["buyer"], market["order"].id).status == "awaiting:payment"
    with pytest.raises(Unavailable):
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    assert _rows(db_url, "SELECT count(*), max(attempt) FROM payments") == [(1, 1)]


def test_secret_key_never_appears_in_messages_or_logs(
    stripe_api: MakeStripeApi, stripe_front: StripeFront, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    echoed = {"error": {"type": "invalid_request_error", "message": f"Invalid API Key {TEST_KEY}"}}
    stripe_front.faults += [
        Fault("/v1/payment_intents", "status", 400, echoed),  # refused: attempt 1 failed
        Fault("/v1/payment_intents", "status", 500, echoed),  # unknown: attempt 2 pending
        Fault("/v1/payment_intents", "status", 401, echoed),  # attempt 2 asked again
    ]
    messages = []
    for _ in range(3):
        with pytest.raises((Unavailable, InvalidInput)) as raised:
            api.pay(market["buyer"], market["order"].id, "pm_card_visa")
        messages.append(raised.value.message)
    assert "OPENTICKET_STRIPE_API_KEY" in messages[2]
    assert all(TEST_KEY not in message and "\n" not in message for message in messages)
    assert "[secret key]" in messages[0] and "[secret key]" in messages[1]
    assert TEST_KEY not in caplog.text


@pytest.mark.parametrize(
    "echo",
    [
        "Invalid API Key provided: sk_test_****{tail}",
        "Bad key sk_live_{tail}, or rk_test_{tail}",
        "key={head}…",
    ],
)
def test_a_partly_echoed_key_is_masked_too(
    stripe_api: MakeStripeApi, stripe_front: StripeFront, echo: str
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    text = echo.format(tail=TEST_KEY[-4:], head=TEST_KEY[:12])
    body = {"error": {"type": "invalid_request_error", "message": text}}
    stripe_front.faults.append(Fault("/v1/payment_intents", "status", 400, body))
    with pytest.raises(InvalidInput) as raised:
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    message = raised.value.message
    assert "[secret key]" in message
    assert "sk_" not in message and "rk_" not in message and TEST_KEY[-4:] not in message


def test_charge_that_races_expiry_is_refunded_at_stripe(
    stripe_api: MakeStripeApi,
    stripe_front: StripeFront,
    stripe_backend: LocalStripe,
    clock: ManualClock,
    db_url: str,
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    rival = api.signup("rival@example.com", "long enough")
    rival_order: list[Any] = []

    def expire_and_resell() -> None:
        stripe_front.during_charge = None
        _ended_before_the_start_was_applied(api, market["order"])
        rival_order.append(api.create_order(rival.token, market["ticket"].id))

    stripe_front.during_charge = expire_and_resell
    with pytest.raises(Conflict, match="was refunded"):
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")

    [charged] = stripe_backend.payment_intents()
    [refund] = stripe_backend.refunds()
    assert refund["payment_intent"] == charged["id"] and refund["amount"] == 2500
    assert _rows(db_url, "SELECT status, provider_ref FROM payments") == [
        ("refunded", charged["id"])
    ]
    announced = [e for e in api.events() if e.subject == "payment:refunded"]
    assert [e.data["refund_ref"] for e in announced] == [refund["id"]]
    assert api.get_order(market["buyer"], market["order"].id).status == "expired"
    # The ticket is sold once: to the rival.
    assert api.pay(rival.token, rival_order[0].id, "pm_card_visa").status == "succeeded"
    assert api.get_ticket(market["ticket"].id).order_id == rival_order[0].id


def _refund_left_pending(api: LocalApi, stripe_front: StripeFront) -> None:
    """A charge that lands on an order that ended meanwhile, whose refund Stripe does not
    answer (twice): the payment is left `refund_pending`."""
    market = _reserved(api)

    def ended_elsewhere() -> None:
        stripe_front.during_charge = None
        _ended_before_the_start_was_applied(api, market["order"])

    stripe_front.during_charge = ended_elsewhere
    stripe_front.faults += [
        Fault("/v1/refunds", "drop_before"),
        Fault("/v1/refunds", "drop_before"),
    ]
    with pytest.raises(Conflict, match="is being refunded"):
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")


def test_refund_postponed_while_stripe_is_down_is_made_later(
    stripe_api: MakeStripeApi,
    stripe_front: StripeFront,
    stripe_backend: LocalStripe,
    clock: ManualClock,
    db_url: str,
) -> None:
    api, _ = stripe_api(stripe_front.url)
    _refund_left_pending(api, stripe_front)
    assert _rows(db_url, "SELECT status FROM payments") == [("refund_pending",)]
    assert stripe_backend.refunds() == []

    api.list_tickets()  # any later command settles what is due
    assert _rows(db_url, "SELECT status FROM payments") == [("refunded",)]
    assert len(stripe_backend.refunds()) == 1


class Crash(BaseException):
    """The process dies (nothing after this point runs)."""


def _paid_then_crashed(api: LocalApi, provider: StripeProvider, market: dict[str, Any]) -> None:
    """A `pay` whose process died after Stripe charged, before recording it."""
    real_charge = provider.charge

    def charge_then_crash(
        amount: Money, source: str, key: str, group: str | None = None
    ) -> ChargeResult:
        real_charge(amount, source, key, group)
        raise Crash

    provider.charge = charge_then_crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    provider.charge = real_charge  # type: ignore[method-assign]  # the next process's


def test_a_charge_whose_process_died_is_recorded_after_the_grace(
    stripe_api: MakeStripeApi,
    stripe_front: StripeFront,
    stripe_backend: LocalStripe,
    clock: ManualClock,
    db_url: str,
) -> None:
    api, provider = stripe_api(stripe_front.url)  # the front replays Stripe's idempotency
    market = _reserved(api)
    _paid_then_crashed(api, provider, market)
    clock.advance(901)  # past the grace, and past the order's window: it still completes
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"
    assert _rows(db_url, "SELECT status FROM payments") == [("succeeded",)]
    first, again = stripe_front.charges_sent()
    assert first.idempotency_key == again.idempotency_key
    assert len(stripe_backend.payment_intents()) == 1 and stripe_backend.refunds() == []


def test_reconcile_refunds_a_charge_no_payment_records(
    stripe_api: MakeStripeApi, stripe_backend: LocalStripe, stripe_front: StripeFront
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    orphan_key = "openticket-" + "ab" * 16 + "-1"  # e.g. a store restored from an old backup
    orphan = orphan_charge(stripe_backend.url, orphan_key, 4200)

    report = api.reconcile_payments()
    assert report.checked == 1
    [finding] = report.findings
    assert (finding.payment_id, finding.order_id, finding.provider_ref) == (
        None,
        "ab" * 16,
        orphan,
    )
    assert finding.problem == "charge with no recorded payment"
    assert api.reconcile_payments(fix=True).fixed == 1
    assert [r["payment_intent"] for r in stripe_backend.refunds()] == [orphan]
    assert api.reconcile_payments().findings == []


def test_reconcile_flags_a_completed_order_refunded_behind_our_back(
    stripe_api: MakeStripeApi, stripe_backend: LocalStripe, stripe_front: StripeFront
) -> None:
    api, _ = stripe_api(stripe_front.url)
    market = _reserved(api)
    payment = api.pay(market["buyer"], market["order"].id, "pm_card_visa")
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": stripe_backend.url})
    client.v1.refunds.create(params={"payment_intent": payment.provider_ref or ""})

    [finding] = api.reconcile_payments(fix=True).findings
    assert finding.problem == "completed order's charge is missing at the provider"
    assert finding.action == "flagged for manual review"
    assert api.get_order(market["buyer"], market["order"].id).status == "complete"


def test_a_payments_worker_settles_due_refunds_after_a_cancellation_not_after_new_orders(
    stripe_api: MakeStripeApi,
    stripe_front: StripeFront,
    stripe_backend: LocalStripe,
    db_url: str,
) -> None:
    """What a worker runs after each batch it applied: a batch of new orders (most of a
    reservation race) makes nothing due and looks at nothing; a cancellation may, and the
    due refund is made right away (the worker's one-second pass makes any other)."""
    api, _ = stripe_api(stripe_front.url)
    _refund_left_pending(api, stripe_front)

    api.runtime.settle_money({"order:created"})
    assert _rows(db_url, "SELECT status FROM payments") == [("refund_pending",)]
    api.runtime.settle_money({"order:created", "order:cancelled"})
    assert _rows(db_url, "SELECT status FROM payments") == [("refunded",)]
    assert len(stripe_backend.refunds()) == 1
