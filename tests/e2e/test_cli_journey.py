"""The whole buy-a-ticket journey through the real console script, two users on one database."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import User, signed_up


def test_two_users_buy_a_ticket_from_the_cli(people_anywhere: Callable[..., User]) -> None:
    people = people_anywhere
    seller, buyer, third = people("seller"), people("buyer"), people("third")
    seller_user = signed_up(seller, "seller@example.com")
    buyer_user = signed_up(buyer, "buyer@example.com")
    signed_up(third, "third@example.com")
    assert seller.ok("auth", "whoami") == seller_user
    assert buyer.ok("auth", "whoami") == buyer_user

    ticket = seller.ok("tickets", "create", "--title", "Jazz night", "--price", "12.50")
    assert ticket == {
        "id": ticket["id"],
        "title": "Jazz night",
        "price": "12.50",
        "currency": "USD",
        "owner_id": seller_user["id"],
        "version": 0,
        "status": "available",
        "order_id": None,
        "seller": "seller",  # no display name chosen: the email's local part
        "resale": False,
    }
    assert [t["id"] for t in third.ok("tickets", "list")] == [ticket["id"]]

    order = buyer.ok("orders", "create", ticket["id"])
    assert order["status"] == "created"
    assert order["user_id"] == buyer_user["id"]
    assert order["ticket"] == {
        "id": ticket["id"],
        "title": "Jazz night",
        "price": "12.50",
        "currency": "USD",
    }
    assert order["expires_at"].endswith("Z")

    waiting = buyer.run("orders", "show", order["id"]).stdout
    assert re.search(r"Pay by +in \d+ min \(\d\d:\d\d\)", waiting), waiting
    assert order["expires_at"] not in waiting  # people read local, relative times

    reserved = third.ok("tickets", "show", ticket["id"])
    assert reserved["status"] == "reserved" and reserved["order_id"] == order["id"]
    assert third.ok("tickets", "list") == []

    edit = seller.run("tickets", "update", ticket["id"], "--price", "20", "--json")
    assert edit.code == 5
    assert edit.error_json() == {
        "errors": [{"message": "Cannot edit a reserved ticket", "field": None}]
    }
    steal = third.run("orders", "create", ticket["id"], "--json")
    assert steal.code == 5
    assert "already reserved" in steal.error_json()["errors"][0]["message"]
    assert third.run("orders", "show", order["id"]).code == 3

    payment = buyer.ok("pay", order["id"], "--card", "tok_visa")
    assert payment["order_id"] == order["id"]
    assert payment["amount"] == "12.50" and payment["currency"] == "USD"
    assert payment["status"] == "succeeded" and payment["provider"] == "local"
    assert payment["provider_ref"]

    assert third.ok("tickets", "list") == []
    sold = third.ok("tickets", "show", ticket["id"])
    assert sold["status"] == "sold"
    assert buyer.ok("orders", "show", order["id"])["status"] == "complete"
    paid = buyer.run("orders", "show", order["id"]).stdout
    assert "complete" in paid and "Pay by" not in paid and "Expire" not in paid
    assert [o["status"] for o in buyer.ok("orders", "list")] == ["complete"]
    assert buyer.run("orders", "cancel", order["id"]).code == 5
    assert buyer.run("pay", order["id"]).code == 5
    assert seller.ok("tickets", "list", "--mine")[0]["status"] == "sold"


def test_tables_for_people(people_anywhere: Callable[..., User]) -> None:
    seller = people_anywhere("seller")
    signed_up(seller, "seller@example.com")
    seller.ok(
        "tickets", "create", "--title", "Kabuki matinee", "--price", "4500", "--currency", "jpy"
    )
    shown = seller.run("tickets", "list")
    assert shown.code == 0
    assert "Kabuki matinee" in shown.stdout and "4500 JPY" in shown.stdout
    assert "available" in shown.stdout


def test_demo_fills_an_empty_store_once(people: Callable[..., User]) -> None:
    visitor = people("visitor")
    report = visitor.ok("demo")
    assert len(report["users"]) == 3 and report["tickets"] >= 10
    listed = visitor.ok("tickets", "list")
    assert len(listed) == report["tickets"]
    assert {t["currency"] for t in listed} >= {"USD", "EUR", "JPY", "GBP"}
    again = visitor.run("demo", "--json")
    assert again.code == 5
    assert len(visitor.ok("tickets", "list")) == report["tickets"]
    seller = people("alice")
    seller.ok("auth", "signin", report["users"][0]["email"], "--password", report["password"])
    assert seller.ok("tickets", "list", "--mine")
