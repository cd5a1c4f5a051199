"""An unpaid order's lock ends after OPENTICKET_ORDER_TTL seconds, with no process running."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tests.conftest import User, signed_up


def test_expired_order_unlocks_the_ticket(people: Callable[..., User]) -> None:
    seller = people("seller")
    first = people("first", OPENTICKET_ORDER_TTL="5")
    second = people("second")
    signed_up(seller, "seller@example.com")
    signed_up(first, "first@example.com")
    signed_up(second, "second@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Matinee", "--price", "9.99")

    order = first.ok("orders", "create", ticket["id"])
    assert second.run("orders", "create", ticket["id"]).code == 5
    _sleep_past(order["expires_at"])

    # Nothing ran in between: the next command applies the expiry (lazily).
    assert [t["id"] for t in second.ok("tickets", "list")] == [ticket["id"]]
    replacement = second.ok("orders", "create", ticket["id"])
    assert replacement["status"] == "created"
    assert first.ok("orders", "show", order["id"])["status"] == "expired"

    late = first.run("pay", order["id"], "--json")
    assert late.code == 5
    assert "expired" in late.error_json()["errors"][0]["message"]
    cancel = first.run("orders", "cancel", order["id"], "--json")
    assert cancel.code == 5
    assert cancel.error_json()["errors"][0]["message"] == "Order has expired"
    shown = first.run("orders", "show", order["id"]).stdout
    assert "expired" in shown and "Expired" in shown and "Pay by" not in shown
    assert "expired" in first.run("orders", "list").stdout
    assert second.ok("tickets", "show", ticket["id"])["order_id"] == replacement["id"]
    subjects = [e["subject"] for e in _events(second)]
    assert subjects.count("order:cancelled") == 1


def test_seller_can_edit_after_expiry(people: Callable[..., User]) -> None:
    seller = people("seller")
    buyer = people("buyer", OPENTICKET_ORDER_TTL="3")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Matinee", "--price", "9.99")
    order = buyer.ok("orders", "create", ticket["id"])
    _sleep_past(order["expires_at"])
    edited = seller.ok("tickets", "update", ticket["id"], "--price", "8.00")
    assert edited["price"] == "8.00" and edited["status"] == "available"


def test_commands_after_a_missed_expiry_print_nothing_but_their_answer(
    people: Callable[..., User],
) -> None:
    """With no serve/worker/tui running, an expiry job whose second has passed must not be
    run (nor attempted) by a short-lived command: stderr stays empty, also under --json."""
    seller = people("seller")
    buyer = people("buyer", OPENTICKET_ORDER_TTL="1")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    first, second, third = (
        seller.ok("tickets", "create", "--title", f"Seat {n}", "--price", "9.99")["id"]
        for n in range(3)
    )
    for ticket_id in (first, second):
        _sleep_past(buyer.ok("orders", "create", ticket_id)["expires_at"], extra=1.2)
    reserved = buyer.run("orders", "create", third, "--json")
    assert (reserved.code, reserved.stderr) == (0, "")
    for args in (
        ("orders", "show", reserved.json()["id"]),
        ("tickets", "list"),
        ("orders", "list"),
        ("tickets", "list", "--json"),
    ):
        result = buyer.run(*args)
        assert (result.code, result.stderr) == (0, ""), args


def _sleep_past(expires_at: str, extra: float = 0.2) -> None:
    moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + extra)


def _events(person: User) -> list[dict[str, object]]:
    result = person.run("events", "tail", "--no-follow", "--after", "0", "--json")
    assert result.code == 0, result.stderr
    import json

    return [json.loads(line) for line in result.stdout.splitlines()]
