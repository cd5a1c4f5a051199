"""Payouts through Stripe Connect and the official SDK: the project's FAKE Connect in
StripeFront (tests/stripe_servers.py; localstripe, behind it, has no Connect) takes the
accounts, account links, transfers and reversals, and records every request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import stripe

from openticket.app.local import LocalApi
from openticket.app.stripe_events import StripeEvents
from openticket.core import faults
from openticket.core.clock import isoformat_utc
from openticket.core.payments.payouts.settling import settle_payouts
from openticket.providers.stripe import StripeProvider
from tests.conftest import ManualClock
from tests.stripe_servers import TEST_KEY, Fault, LocalStripe, StripeFront

HOUR = 3600


@pytest.fixture
def market(make_api: Callable[..., LocalApi], stripe_front: StripeFront) -> LocalApi:
    provider = StripeProvider(TEST_KEY, api_base=stripe_front.url, timeout=5, network_retries=0)
    return make_api(
        provider=provider,
        settings={"platform_fee_setting": "5", "payout_hold_setting": str(HOUR)},
    )


def _sale(market: LocalApi) -> tuple[str, str, str]:
    """(the seller's token, the buyer's, the paid order's id)."""
    seller = market.signup("seller@example.com", "long enough").token
    buyer = market.signup("buyer@example.com", "long enough").token
    ticket = market.create_ticket(seller, "Gig", "12.50")
    order = market.create_order(buyer, ticket.id)
    market.pay(buyer, order.id, "pm_card_visa")
    return seller, buyer, order.id


def _onboarded(market: LocalApi, stripe_front: StripeFront, seller: str) -> None:
    """The seller's account made, its onboarding finished at Stripe and known here."""
    account = market.onboard(seller)
    assert account.account_id is not None
    stripe_front.finish_onboarding(account.account_id)
    market.onboard(seller)


def test_onboarding_makes_an_express_account_and_a_transfer_pays_each_payout_once(
    market: LocalApi, stripe_front: StripeFront, stripe_backend: LocalStripe, clock: ManualClock
) -> None:
    seller, _buyer, order_id = _sale(market)
    [charge] = stripe_front.charges_sent()
    assert charge.form["transfer_group"] == order_id  # the charge names its order

    account = market.onboard(seller)
    assert (account.provider, account.charges_enabled, account.payouts_enabled) == (
        "stripe",
        False,
        False,
    )
    assert account.account_id is not None and account.account_id.startswith("acct_")
    assert account.onboarding_url == f"https://connect.stripe.com/setup/e/{account.account_id}/fake"
    [made] = stripe_front.sent("POST", "/v1/accounts")
    assert (made.form["type"], made.form["capabilities[transfers][requested]"]) == (
        "express",
        "true",
    )
    assert made.idempotency_key is not None and made.idempotency_key.startswith("account-")

    clock.advance(HOUR)
    assert market.payouts(seller)[0].status == "held"  # onboarding not finished: it waits
    assert stripe_front.sent("POST", "/v1/transfers") == []

    stripe_front.finish_onboarding(account.account_id)
    ready = market.onboard(seller)  # brings the account's state up to date
    assert (ready.account_id, ready.payouts_enabled, ready.onboarding_url) == (
        account.account_id,
        True,
        None,
    )
    assert len(stripe_front.sent("POST", "/v1/accounts")) == 1  # the same account
    [payout] = market.payouts(seller)
    assert payout.status == "released"
    [transfer] = stripe_front.sent("POST", "/v1/transfers")
    assert transfer.idempotency_key == f"payout-{payout.id}"
    [intent] = stripe_backend.payment_intents()
    assert transfer.form == {
        "amount": "1187",
        "currency": "usd",
        "destination": account.account_id,
        "transfer_group": order_id,
        # Made from the buyer's charge, when its funds are available: not out of the
        # platform's balance, which may be short.
        "source_transaction": _id_of(intent["latest_charge"]),
    }


def test_a_transfer_stripe_fails_is_made_again_with_its_key_and_paid_once(
    market: LocalApi, stripe_front: StripeFront, clock: ManualClock
) -> None:
    seller, _buyer, _order = _sale(market)
    _onboarded(market, stripe_front, seller)
    stripe_front.faults.append(Fault("/v1/transfers", "drop_after"))  # made, answer lost
    clock.advance(HOUR)
    market.runtime.settle_payouts()
    assert len(stripe_front.transfers) == 1
    [payout] = market.payouts(seller)  # the next look makes it again: Stripe replays it
    assert payout.status == "released"
    keys = {r.idempotency_key for r in stripe_front.sent("POST", "/v1/transfers")}
    assert keys == {f"payout-{payout.id}"}
    assert len(stripe_front.transfers) == 1


def test_a_refund_after_release_reverses_the_transfer(
    market: LocalApi, stripe_front: StripeFront, clock: ManualClock
) -> None:
    seller, buyer, order_id = _sale(market)
    _onboarded(market, stripe_front, seller)
    clock.advance(HOUR)
    assert market.payouts(seller)[0].status == "released"
    market.refund_order(seller, order_id)
    [payout] = market.payouts(seller)
    assert payout.status == "reversed"
    [reversal] = stripe_front.sent("POST", "/v1/transfers/")
    assert reversal.path.endswith("/reversals")
    assert reversal.idempotency_key == f"reversal-{payout.id}"
    [transfer] = stripe_front.transfers.values()
    assert transfer["reversed"] is True
    assert [o.status for o in market.list_orders(buyer)] == ["refunded"]


def test_a_release_followed_up_after_stripe_forgot_its_key_pays_once(
    market: LocalApi, stripe_front: StripeFront, clock: ManualClock
) -> None:
    """The process died after Stripe made the transfer; the next look comes after Stripe
    has forgotten the idempotency key: the transfer is found by its order, not made again."""
    seller, _buyer, order_id = _sale(market)
    _onboarded(market, stripe_front, seller)
    clock.advance(HOUR)
    with faults.armed("payout:transferred=raise"), pytest.raises(faults.InjectedFault):
        settle_payouts(market.runtime.uow, market.runtime.provider)
    [made] = stripe_front.transfers.values()
    stripe_front.forget_idempotency_keys()

    market.runtime.settle_payouts()

    [payout] = market.payouts(seller)
    assert payout.status == "released"
    assert list(stripe_front.transfers) == [made["id"]]  # still the one transfer
    looked_up = stripe_front.sent("GET", "/v1/transfers")
    assert looked_up and looked_up[-1].form["transfer_group"] == order_id


def test_a_refund_while_the_release_is_under_way_takes_back_that_very_transfer(
    market: LocalApi, stripe_front: StripeFront, clock: ManualClock
) -> None:
    seller, buyer, order_id = _sale(market)
    _onboarded(market, stripe_front, seller)
    clock.advance(HOUR)
    # The seller refunds while this process is making the transfer.
    stripe_front.during_transfer = lambda: market.refund_order(seller, order_id)
    market.runtime.settle_payouts()
    stripe_front.forget_idempotency_keys()  # and a day passes before the reversal

    market.runtime.settle_payouts()

    [payout] = market.payouts(seller)
    assert payout.status == "reversed"
    [transfer] = stripe_front.transfers.values()  # none made only to be taken back
    assert transfer["reversed"] is True
    assert [o.status for o in market.list_orders(buyer)] == ["refunded"]


def test_a_transfer_taken_back_at_stripe_reverses_the_payout_only_in_full(
    market: LocalApi, stripe_front: StripeFront, clock: ManualClock
) -> None:
    """Stripe's `transfer.reversed` (sent for partial reversals too, from its dashboard): a
    part taken back leaves the payout released and reconcile flags the difference; taken
    back in full, the payout is reversed."""
    seller, _buyer, _order = _sale(market)
    _onboarded(market, stripe_front, seller)
    clock.advance(HOUR)
    [payout] = market.payouts(seller)
    assert payout.status == "released"
    [transfer_id] = stripe_front.transfers
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": stripe_front.url})
    client.v1.transfers.reversals.create(transfer_id, params={"amount": 500})  # by hand
    events = StripeEvents(market.runtime)

    assert events.apply(_transfer_event("evt_part", stripe_front, transfer_id)) is True
    assert market.payouts(seller)[0].status == "released"
    [finding] = market.reconcile_payments().findings
    assert (finding.payout_id, finding.problem) == (
        payout.id,
        "transferred 6.87 USD but the payout is 11.87 USD",
    )

    client.v1.transfers.reversals.create(transfer_id)  # the rest
    assert events.apply(_transfer_event("evt_all", stripe_front, transfer_id)) is True
    assert market.payouts(seller)[0].status == "reversed"
    assert market.reconcile_payments().findings == []


def _transfer_event(event_id: str, front: StripeFront, transfer_id: str) -> dict[str, Any]:
    transfer = front.transfers[transfer_id]
    return {"id": event_id, "type": "transfer.reversed", "data": {"object": dict(transfer)}}


def test_a_transfer_stripe_refuses_is_held_again_and_tried_later(
    market: LocalApi, stripe_front: StripeFront, clock: ManualClock
) -> None:
    """A refusal (here the seller's account cannot receive transfers) moved nothing: the
    payout is held again for an hour rather than asked about on every pass."""
    seller, _buyer, _order = _sale(market)
    _onboarded(market, stripe_front, seller)
    [account_id] = stripe_front.accounts
    stripe_front.accounts[account_id]["payouts_enabled"] = False  # at Stripe, not yet here
    clock.advance(HOUR)

    [payout] = market.payouts(seller)
    assert payout.status == "held"
    assert payout.release_at == isoformat_utc(clock() + timedelta(hours=1))
    market.runtime.settle_payouts()
    assert len(stripe_front.sent("POST", "/v1/transfers")) == 1  # not asked again meanwhile

    stripe_front.accounts[account_id]["payouts_enabled"] = True
    clock.advance(HOUR)
    assert market.payouts(seller)[0].status == "released"
    assert len(stripe_front.transfers) == 1
    # A key of its own: Stripe answers a key it has seen with that first answer, the refusal.
    keys = [r.idempotency_key for r in stripe_front.sent("POST", "/v1/transfers")]
    assert keys == [f"payout-{payout.id}", f"payout-{payout.id}-1"]


def _id_of(linked: Any) -> str:
    return str(linked["id"] if isinstance(linked, dict) else linked)


def test_a_reversal_stripe_refuses_is_tried_again_later_with_a_key_of_its_own(
    market: LocalApi, stripe_front: StripeFront, clock: ManualClock
) -> None:
    seller, buyer, order_id = _sale(market)
    _onboarded(market, stripe_front, seller)
    clock.advance(HOUR)
    [payout] = market.payouts(seller)
    assert payout.status == "released"
    short = {"error": {"type": "invalid_request_error", "message": "Insufficient funds"}}
    stripe_front.faults.append(Fault("/v1/transfers/", "status", 400, short))

    market.refund_order(seller, order_id)  # the buyer is refunded at once; the seller owes

    assert [o.status for o in market.list_orders(buyer)] == ["refunded"]
    assert market.payouts(seller)[0].status == "released"  # the money is still there
    market.runtime.settle_payouts()
    assert len(stripe_front.sent("POST", "/v1/transfers/")) == 1  # not on every pass
    clock.advance(HOUR)
    assert market.payouts(seller)[0].status == "reversed"
    keys = [r.idempotency_key for r in stripe_front.sent("POST", "/v1/transfers/")]
    assert keys == [f"reversal-{payout.id}", f"reversal-{payout.id}-1"]
    [transfer] = stripe_front.transfers.values()
    assert transfer["reversed"] is True


def test_a_refund_made_by_hand_at_stripe_reverses_the_payout(
    market: LocalApi, stripe_front: StripeFront, stripe_backend: LocalStripe, clock: ManualClock
) -> None:
    seller, _buyer, _order = _sale(market)
    _onboarded(market, stripe_front, seller)
    [intent] = stripe_backend.payment_intents()
    refund = stripe_backend.post("/v1/refunds", {"payment_intent": intent["id"]})  # dashboard
    event = {
        "id": "evt_by_hand",
        "type": "charge.refunded",
        "data": {"object": {"id": refund["charge"], "payment_intent": intent["id"]}},
    }

    assert StripeEvents(market.runtime).apply(event) is True
    clock.advance(HOUR)

    assert market.payouts(seller)[0].status == "reversed"  # not paid for money given back
    assert stripe_front.transfers == {}
    problems = [f.problem for f in market.reconcile_payments().findings]
    assert problems == ["completed order's charge is missing at the provider"]


def test_an_older_account_update_arriving_last_does_not_undo_a_newer_one(
    market: LocalApi, stripe_front: StripeFront
) -> None:
    """Stripe does not send events in order: the account is read from Stripe as it now is."""
    seller = market.signup("seller@example.com", "long enough").token
    account_id = str(market.onboard(seller).account_id)
    older = {**stripe_front.accounts[account_id]}  # payouts not enabled yet
    stripe_front.finish_onboarding(account_id)
    newer = {**stripe_front.accounts[account_id]}
    events = StripeEvents(market.runtime)

    events.apply({"id": "evt_new", "type": "account.updated", "data": {"object": newer}})
    events.apply({"id": "evt_old", "type": "account.updated", "data": {"object": older}})

    assert market.payout_account(seller).payouts_enabled is True
