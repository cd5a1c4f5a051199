"""Stripe payments through the real console script, embedded and behind a real `openticket
serve`, with localstripe (and the project's own StripeFront for declines) on loopback."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import User, free_port, marketplace, signed_up
from tests.stripe_servers import TEST_KEY, LocalStripe, StripeFront, orphan_charge

People = Callable[..., User]


def _stripe_env(base: str) -> dict[str, str]:
    return {"OPENTICKET_STRIPE_API_KEY": TEST_KEY, "OPENTICKET_STRIPE_API_BASE": base}


@contextlib.contextmanager
def _marketplace(mode: str, tmp_path: Path, stripe_env: dict[str, str]) -> Iterator[People]:
    """People of one marketplace whose payments go to Stripe: embedded, the CLI has the key;
    in server mode only the server has it."""
    with marketplace(mode, tmp_path, **stripe_env) as people:
        yield people if mode == "server" else functools.partial(people, **stripe_env)


@pytest.fixture(params=["embedded", "server"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _reserve(people: People, price: str, currency: str) -> tuple[User, dict[str, Any]]:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    ticket = seller.ok(
        "tickets", "create", "--title", "Gig", "--price", price, "--currency", currency
    )
    return buyer, buyer.ok("orders", "create", ticket["id"])


@pytest.mark.parametrize(
    ("price", "currency", "amount"), [("25.00", "USD", 2500), ("500", "JPY", 500)]
)
def test_pay_through_stripe(
    mode: str,
    tmp_path: Path,
    stripe_backend: LocalStripe,
    stripe_front: StripeFront,
    price: str,
    currency: str,
    amount: int,
) -> None:
    # Through the front: localstripe refuses the PaymentIntent's transfer_group (Stripe takes it).
    with _marketplace(mode, tmp_path, _stripe_env(stripe_front.url)) as people:
        buyer, order = _reserve(people, price, currency)
        payment = buyer.ok("pay", order["id"], "--card", "pm_card_visa")
        assert payment["provider"] == "stripe" and payment["status"] == "succeeded"
        assert (payment["amount"], payment["currency"]) == (price, currency)
        [intent] = stripe_backend.payment_intents()
        assert payment["provider_ref"] == intent["id"]
        assert (intent["amount"], intent["currency"]) == (amount, currency.lower())
        assert buyer.ok("orders", "show", order["id"])["status"] == "complete"
        again = buyer.run("pay", order["id"], "--card", "pm_card_visa", "--json")
        assert again.code == 5 and "completed" in again.stderr
        assert len(stripe_backend.payment_intents()) == 1


def test_decline_then_retry_from_the_cli(
    mode: str, tmp_path: Path, stripe_front: StripeFront
) -> None:
    with _marketplace(mode, tmp_path, _stripe_env(stripe_front.url)) as people:
        buyer, order = _reserve(people, "25.00", "USD")
        declined = buyer.run("pay", order["id"], "--card", "tok_chargeDeclined", "--json")
        assert declined.code == 1
        assert declined.error_json() == {
            "errors": [{"message": "Your card was declined.", "field": "card"}]
        }
        assert buyer.ok("pay", order["id"], "--card", "tok_visa")["status"] == "succeeded"
        assert len({sent.idempotency_key for sent in stripe_front.charges_sent()}) == 2


def test_a_card_that_asks_for_authentication_exits_7_then_check_completes(
    mode: str, tmp_path: Path, stripe_front: StripeFront, stripe_backend: LocalStripe
) -> None:
    with _marketplace(mode, tmp_path, _stripe_env(stripe_front.url)) as people:
        buyer, order = _reserve(people, "25.00", "USD")
        asked = buyer.run("pay", order["id"], "--card", "tok_threeDSecure2Required", "--json")
        assert asked.code == 7, asked.stderr
        waiting = asked.json()
        assert waiting["status"] == "requires_action"
        assert waiting["action_url"] == f"{stripe_front.url}/3ds/{waiting['provider_ref']}"
        # For people: the page to open and what to run next.
        shown = buyer.run("pay", order["id"], "--check")
        assert shown.code == 7
        assert waiting["action_url"] in shown.stdout
        assert f"openticket pay {order['id']} --check" in " ".join(shown.stdout.split())
        assert buyer.ok("orders", "show", order["id"])["status"] == "created"

        stripe_front.authenticate(waiting["provider_ref"])
        paid = buyer.ok("pay", order["id"], "--check")

        assert (paid["id"], paid["status"]) == (waiting["id"], "succeeded")
        assert buyer.ok("orders", "show", order["id"])["status"] == "complete"
        assert [i["status"] for i in stripe_backend.payment_intents()] == ["succeeded"]
        nothing = buyer.run("pay", "no-such-order", "--check", "--json")
        assert nothing.code == 4 and nothing.error_json()["errors"][0]["field"] == "order_id"


def test_unreachable_stripe_is_exit_6_and_the_order_stays_payable(
    mode: str, tmp_path: Path
) -> None:
    env = _stripe_env(f"http://127.0.0.1:{free_port()}") | {"OPENTICKET_STRIPE_TIMEOUT": "2"}
    with _marketplace(mode, tmp_path, env) as people:
        buyer, order = _reserve(people, "25.00", "USD")
        result = buyer.run("pay", order["id"], "--card", "pm_card_visa")
        assert result.code == 6
        lines = result.stderr.strip().splitlines()
        assert lines == [
            "Error: Stripe could not be reached (connection failed). "
            "The order stays payable: try again."
        ]
        assert TEST_KEY not in result.stdout + result.stderr
        # Whether Stripe charged is unknown: the order waits for the answer, and a retry
        # asks Stripe again with the same key.
        assert buyer.ok("orders", "show", order["id"])["status"] == "awaiting:payment"
        again = buyer.run("pay", order["id"], "--card", "pm_card_visa")
        assert again.code == 6 and "try again" in again.stderr


def test_reconcile_fixes_an_orphan_charge(
    tmp_path: Path, stripe_backend: LocalStripe, stripe_front: StripeFront
) -> None:
    with _marketplace("embedded", tmp_path, _stripe_env(stripe_front.url)) as people:
        buyer, order = _reserve(people, "25.00", "USD")
        buyer.ok("pay", order["id"], "--card", "pm_card_visa")
        orphan = orphan_charge(stripe_backend.url, f"openticket-{'0' * 32}-1", 900)
        report = buyer.ok("payments", "reconcile")
        assert report["checked"] == 1 and report["fixed"] == 0
        assert [(f["provider_ref"], f["action"]) for f in report["findings"]] == [
            (orphan, "refund the charge")
        ]
        text = buyer.run("payments", "reconcile", "--fix")
        assert text.code == 0
        assert f"- {orphan} (order {'0' * 32}): charge with no recorded payment" in (text.stdout)
        assert "Fixed 1" in text.stdout
        assert [r["payment_intent"] for r in stripe_backend.refunds()] == [orphan]
        assert buyer.ok("payments", "reconcile")["findings"] == []


def test_a_bad_stripe_setting_is_a_one_line_error(people: People) -> None:
    buyer = people("buyer")
    bad_key = buyer.run("tickets", "list", "--json")
    assert bad_key.code == 0  # without Stripe settings, the local provider is used
    for env, message in (
        (
            {"OPENTICKET_STRIPE_API_KEY": "pk_live_not_a_secret"},
            "OPENTICKET_STRIPE_API_KEY must be a Stripe secret key (sk_… or rk_…)",
        ),
        (
            {"OPENTICKET_STRIPE_API_KEY": TEST_KEY, "OPENTICKET_STRIPE_API_BASE": "localhost"},
            "OPENTICKET_STRIPE_API_BASE must be an http:// or https:// URL",
        ),
    ):
        buyer.extra_env = env
        result = buyer.run("tickets", "list", "--json")
        assert result.code == 1
        assert result.error_json() == {"errors": [{"message": message, "field": None}]}
        assert "pk_live_not_a_secret" not in result.stderr
