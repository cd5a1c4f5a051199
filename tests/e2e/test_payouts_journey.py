"""Sellers get paid, through the real `openticket` console script: embedded on one SQLite
file, through a real `openticket serve`, and scaled out on PostgreSQL + NATS with a worker
per domain. Sell, see the payout held, onboard, check the ticket in (which proves it good and
releases the payout), and refund another sale (its payout reversed, the buyer refunded, the
ticket back with its seller)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import User, eventually, free_port, marketplace, signed_up
from tests.modes import in_three_modes  # noqa: F401  (people: each test in three modes)

PASSWORD = "correct horse"
PAYOUT_KEYS = {
    "id",
    "order_id",
    "ticket_id",
    "gross",
    "fee",
    "net",
    "currency",
    "status",
    "release_at",
}


def _person(people: Callable[..., User], name: str) -> User:
    someone = people(name)
    signed_up(someone, f"{name}@example.com", PASSWORD)
    return someone


def _sold(seller: User, buyer: User, title: str, price: str) -> tuple[str, str]:
    """A listing of `seller` that `buyer` bought: (the ticket's id, the order's)."""
    ticket = seller.ok("tickets", "create", "--title", title, "--price", price)
    order = buyer.ok("orders", "create", ticket["id"])
    buyer.ok("pay", order["id"], "--card", "tok_visa")
    eventually(
        lambda: any(e["ticket"]["id"] == ticket["id"] for e in buyer.ok("wallet")),
        what="the bought ticket in the buyer's wallet",
    )
    return ticket["id"], order["id"]


def _payout(seller: User, order_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = seller.ok("payouts")
    return next(p for p in found if p["order_id"] == order_id)


def test_sell_hold_onboard_check_in_release_and_refund(people: Callable[..., User]) -> None:
    seller, buyer = _person(people, "seller"), _person(people, "buyer")
    assert seller.ok("payouts") == []
    status = seller.ok("payouts", "status")
    assert (status["onboarded"], status["payouts_enabled"]) == (False, False)

    ticket_id, order_id = _sold(seller, buyer, "Gig <b>[/]</b>", "12.50")
    payout = eventually(lambda: seller.ok("payouts"), what="the sale's payout")[0]
    assert set(payout) == PAYOUT_KEYS
    assert (payout["order_id"], payout["ticket_id"]) == (order_id, ticket_id)
    assert (payout["gross"], payout["fee"], payout["net"], payout["currency"]) == (
        "12.50",
        "0.63",
        "11.87",
        "USD",
    )
    assert payout["status"] == "held"  # for 7 days, or until the ticket is checked in
    assert buyer.ok("payouts") == []
    table = seller.run("payouts")
    assert "11.87" in table.stdout and "held" in table.stdout

    account = seller.ok("payouts", "onboard")
    assert (account["onboarded"], account["provider"], account["payouts_enabled"]) == (
        True,
        "local",
        True,
    )
    assert seller.ok("payouts", "status") == account
    assert _payout(seller, order_id)["status"] == "held"
    code = buyer.ok("wallet", "show", ticket_id)["code"]
    seller.ok("checkin", code)
    eventually(lambda: _payout(seller, order_id)["status"] == "released", what="the release")

    other_id, other_order = _sold(seller, buyer, "Play", "30")
    old_code = buyer.ok("wallet", "show", other_id)["code"]
    assert buyer.run("orders", "refund", other_order, "--json").code == 4  # not the seller
    refunded = seller.ok("orders", "refund", other_order)
    assert (refunded["id"], refunded["status"]) == (other_order, "refunded")
    eventually(
        lambda: buyer.ok("orders", "show", other_order)["status"] == "refunded",
        what="the buyer's order refunded",
    )
    eventually(lambda: _payout(seller, other_order)["status"] == "reversed", what="reversal")
    revoked = buyer.run("verify", old_code, "--json")
    assert (revoked.code, revoked.json()["status"]) == (5, "revoked")
    assert [e["ticket"]["id"] for e in buyer.ok("wallet")] == [ticket_id]
    assert [e["ticket"]["id"] for e in seller.ok("wallet")] == [other_id]
    again = seller.run("orders", "refund", other_order, "--json")
    assert again.code == 5
    used = seller.run("orders", "refund", order_id, "--json")  # its ticket was checked in
    assert used.code == 5
    assert "checked in" in used.error_json()["errors"][0]["message"]
    assert _payout(seller, order_id)["status"] == "released"


@pytest.mark.parametrize(
    ("name", "value"),
    [("OPENTICKET_PLATFORM_FEE_PERCENT", "5%"), ("OPENTICKET_PAYOUT_HOLD", "-5")],
)
def test_a_payout_setting_that_cannot_be_meant_stops_the_process_that_pays(
    tmp_path: Path, name: str, value: str
) -> None:
    """Payouts are made by the reaction to a completed order: a bad fee or hold stops the
    process that would make it (embedded, the command; a server or worker, at its start),
    rather than leave a seller unpaid after the buyer has paid."""
    with marketplace("embedded", tmp_path) as people:
        seller = _person(people, "seller")
        seller.extra_env[name] = value
        result = seller.run("tickets", "create", "--title", "Gig", "--price", "10", "--json")
        assert result.code == 1
        [error] = result.error_json()["errors"]
        assert error["field"] == name and value in error["message"]
        serving = seller.run("serve", "--port", str(free_port()))
        assert serving.code == 1 and name in serving.stderr
        assert "Traceback" not in serving.stderr
