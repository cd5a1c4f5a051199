"""Stripe's webhooks reaching a real `openticket serve` (payments through Stripe: localstripe
behind the project's StripeFront, which also FAKES Stripe Connect), signed as Stripe signs
them: a forged, stale or unsigned event is refused (400) and changes nothing, an event is
applied once however often it is sent, a charge whose answer was lost completes by webhook,
an account's onboarding arrives by webhook, and a dispute holds the seller's payouts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import User, eventually, marketplace, signed_up
from tests.stripe_servers import TEST_KEY, Fault, LocalStripe, StripeFront, send_webhook

SECRET = "whsec_test_current_0123456789abcdef"
OLD_SECRET = "whsec_test_previous_0123456789abcdef"


@pytest.fixture
def people(tmp_path: Path, stripe_front: StripeFront) -> Iterator[Callable[..., User]]:
    server_env = {
        "OPENTICKET_STRIPE_API_KEY": TEST_KEY,
        "OPENTICKET_STRIPE_API_BASE": stripe_front.url,
        "OPENTICKET_STRIPE_WEBHOOK_SECRET": f"{SECRET},{OLD_SECRET}",
        "OPENTICKET_PAYMENT_GRACE": "3600",  # no recovery of a lost answer but the webhook's
    }
    with marketplace("server", tmp_path, **server_env) as person:
        yield person


def _server(someone: User) -> str:
    return someone.extra_env["OPENTICKET_SERVER"]


def _event(event_id: str, kind: str, thing: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": thing}}


def test_a_lost_answer_completes_by_webhook_once_and_forgeries_change_nothing(
    people: Callable[..., User], stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Gig", "--price", "25.00")
    order = buyer.ok("orders", "create", ticket["id"])
    # Charged, and the answer lost: the SDK's two retries with the same key are lost too.
    stripe_front.faults.append(Fault("/v1/payment_intents", "drop_after"))
    stripe_front.faults += [Fault("/v1/payment_intents", "drop_before") for _ in range(2)]
    assert buyer.run("pay", order["id"], "--card", "pm_card_visa").code == 6
    assert buyer.ok("orders", "show", order["id"])["status"] == "awaiting:payment"
    [intent] = stripe_backend.payment_intents()
    succeeded = _event("evt_1", "payment_intent.succeeded", intent)
    server = _server(buyer)

    assert send_webhook(server, succeeded, "whsec_forged")[0] == 400
    assert send_webhook(server, succeeded, SECRET, at=int(time.time()) - 3600)[0] == 400
    assert buyer.ok("orders", "show", order["id"])["status"] == "awaiting:payment"

    status, answer = send_webhook(server, succeeded, OLD_SECRET)  # a secret being rotated
    assert (status, answer) == (200, {"received": True, "duplicate": False})
    assert buyer.ok("orders", "show", order["id"])["status"] == "complete"
    assert send_webhook(server, succeeded, SECRET) == (200, {"received": True, "duplicate": True})
    eventually(lambda: buyer.ok("wallet"), what="the ticket in the buyer's wallet")
    assert len(stripe_backend.payment_intents()) == 1  # charged once, recorded once


def test_a_card_authenticated_on_its_page_completes_by_webhook_once(
    people: Callable[..., User], stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Gig", "--price", "25.00")
    order = buyer.ok("orders", "create", ticket["id"])
    asked = buyer.run("pay", order["id"], "--card", "tok_threeDSecure2Required", "--json")
    assert asked.code == 7 and asked.json()["status"] == "requires_action"

    stripe_front.authenticate(asked.json()["provider_ref"])  # the buyer, in a browser
    [intent] = stripe_backend.payment_intents()
    succeeded = _event("evt_3ds", "payment_intent.succeeded", intent)
    assert send_webhook(_server(buyer), succeeded, SECRET)[0] == 200

    assert buyer.ok("orders", "show", order["id"])["status"] == "complete"
    assert send_webhook(_server(buyer), succeeded, SECRET)[1]["duplicate"] is True
    assert buyer.ok("pay", order["id"], "--check")["status"] == "succeeded"
    eventually(lambda: buyer.ok("wallet"), what="the ticket in the buyer's wallet")
    assert stripe_backend.refunds() == []


def test_onboarding_arrives_by_webhook_and_a_dispute_holds_the_payouts(
    people: Callable[..., User], stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    account = seller.ok("payouts", "onboard")
    assert account["onboarding_url"].startswith("https://connect.stripe.com/")
    assert account["payouts_enabled"] is False
    stripe_front.finish_onboarding(account["account_id"])
    server = _server(seller)
    updated = _event("evt_acct", "account.updated", stripe_front.accounts[account["account_id"]])
    assert send_webhook(server, updated, SECRET)[0] == 200
    status = seller.ok("payouts", "status")
    assert (status["payouts_enabled"], status["onboarding_url"]) == (True, None)

    ticket = seller.ok("tickets", "create", "--title", "Gig", "--price", "25.00")
    order = buyer.ok("orders", "create", ticket["id"])
    buyer.ok("pay", order["id"], "--card", "pm_card_visa")
    [intent] = stripe_backend.payment_intents()
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": intent["id"]}
    assert (
        send_webhook(server, _event("evt_dp", "charge.dispute.created", dispute), SECRET)[0] == 200
    )
    code = buyer.ok("wallet", "show", ticket["id"])["code"]
    seller.ok("checkin", code)  # proven good, but disputed: not released
    [payout] = seller.ok("payouts")
    assert payout["status"] == "held"
    assert stripe_front.sent("POST", "/v1/transfers") == []

    won = dispute | {"status": "won"}
    closed = _event("evt_dp_won", "charge.dispute.closed", won)
    assert send_webhook(server, closed, SECRET)[0] == 200
    [payout] = seller.ok("payouts")  # the seller won: the proven ticket's payout goes out
    assert payout["status"] == "released"
    # One transfer, under the payout's one key: the webhook's settling and the server's own
    # pass may both ask for it at once (Stripe makes it once per key).
    keys = {sent.idempotency_key for sent in stripe_front.sent("POST", "/v1/transfers")}
    assert keys == {f"payout-{payout['id']}"}
    [transfer] = stripe_front.transfers.values()
    assert transfer["destination"] == account["account_id"]


def test_a_signed_event_that_is_no_event_is_refused_by_name(
    people: Callable[..., User],
) -> None:
    server = _server(people("anyone"))
    for malformed in (
        ["not", "an", "object"],
        {"id": "evt_x", "type": "charge.refunded"},
        _event("evt_y", "charge.refunded", {"id": "ch_1"}),  # no payment_intent
        _event("", "account.updated", {"id": "acct_1"}),
    ):
        status, answer = send_webhook(server, malformed, SECRET)  # type: ignore[arg-type]
        assert status == 400, malformed
        assert answer["errors"][0]["message"].startswith("Stripe event")
    for impossible_id in ("e" * 256, "evt_\ud800", "evt_\u0000"):
        status, answer = send_webhook(server, _event(impossible_id, "customer.created", {}), SECRET)
        assert (status, answer["errors"][0]["message"]) == (
            400,
            "Stripe event with an impossible id",
        )
    nested = _event("evt_deep", "customer.created", {"id": "cus_1"})
    status, _ = send_webhook(server, nested, SECRET, at=int(time.time()) + 3600)  # the future
    assert status == 400
    unknown = _event("evt_z", "customer.created", {"id": "cus_1"})
    assert send_webhook(server, unknown, SECRET) == (200, {"received": True, "duplicate": False})
