"""The rest of the CLI contract: the event log, currency defaults, reconcile, refusals."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from openticket.store.migrate import HEAD_REVISION
from tests.conftest import PATIENCE_SECONDS, User, signed_up


def test_events_tail_follows_the_log(people: Callable[..., User]) -> None:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    follower = seller.popen("events", "tail", "--after", "0", "--json")
    try:
        ticket = seller.ok("tickets", "create", "--title", "Followed", "--price", "5")
        buyer.ok("orders", "create", ticket["id"])
        seen: list[dict[str, object]] = []
        deadline = time.monotonic() + PATIENCE_SECONDS
        assert follower.stdout is not None
        while time.monotonic() < deadline and len(seen) < 3:
            line = follower.stdout.readline()
            if line:
                seen.append(json.loads(line))
    finally:
        follower.terminate()
        follower.wait(timeout=60)
    assert [e["subject"] for e in seen] == ["ticket:created", "order:created", "ticket:updated"]
    assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
    assert seen[2]["data"]["status"] == "reserved"  # type: ignore[index]

    text = seller.run("events", "tail", "--no-follow", "--after", "1")
    assert text.code == 0
    lines = text.stdout.splitlines()
    assert len(lines) == 2 and "order:created" in lines[0] and "ticket:updated" in lines[1]


def test_sold_ticket_cannot_be_reserved(people: Callable[..., User]) -> None:
    seller, buyer, late = people("seller"), people("buyer"), people("late")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    signed_up(late, "late@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Gone", "--price", "5")
    order = buyer.ok("orders", "create", ticket["id"])
    buyer.ok("pay", order["id"])
    refused = late.run("orders", "create", ticket["id"], "--json")
    assert refused.code == 5
    assert "sold" in refused.error_json()["errors"][0]["message"]
    assert seller.run("tickets", "update", ticket["id"], "--title", "x").code == 5


def test_default_currency_from_the_environment(people: Callable[..., User]) -> None:
    seller = people("seller", OPENTICKET_CURRENCY="eur")
    signed_up(seller, "seller@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Euro seat", "--price", "12")
    assert (ticket["price"], ticket["currency"]) == ("12.00", "EUR")
    broken = people("broken", OPENTICKET_CURRENCY="XYZ")
    signed_up(broken, "broken@example.com")
    assert broken.ok("tickets", "list") == [ticket]  # a setting it does not use
    result = broken.run("tickets", "create", "--title", "Seat", "--price", "12", "--json")
    assert result.code == 1
    [error] = result.error_json()["errors"]
    assert error["field"] == "OPENTICKET_CURRENCY" and "'XYZ'" in error["message"]
    assert broken.ok("tickets", "create", "--title", "Seat", "--price", "12", "--currency", "GBP")


def test_reconcile_reports_a_clean_store(people: Callable[..., User]) -> None:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Paid", "--price", "5")
    order = buyer.ok("orders", "create", ticket["id"])
    buyer.ok("pay", order["id"])
    report = seller.ok("payments", "reconcile")
    assert report == {"checked": 1, "payouts_checked": 1, "findings": [], "fixed": 0}
    assert (
        "Checked 1 payments and 1 payouts, 0 findings" in seller.run("payments", "reconcile").stdout
    )


def test_db_upgrade_reports_the_revision(people: Callable[..., User]) -> None:
    person = people("admin")
    assert person.ok("db", "upgrade") == {"revision": HEAD_REVISION}
    assert person.ok("db", "upgrade") == {"revision": HEAD_REVISION}


def test_sellers_are_seen_by_their_display_name(people_anywhere: Callable[..., User]) -> None:
    seller, buyer = people_anywhere("seller"), people_anywhere("buyer")
    made = seller.ok(
        "auth", "signup", "ada@example.com", "--password", "long enough", "--name", "Ada L."
    )
    assert made["display_name"] == "Ada L."
    signed_up(buyer, "bob@example.com")
    assert buyer.ok("auth", "whoami")["display_name"] == "bob"
    ticket = seller.ok("tickets", "create", "--title", "Opera", "--price", "10")
    assert ticket["seller"] == "Ada L."
    assert [t["seller"] for t in buyer.ok("tickets", "list")] == ["Ada L."]
    assert "Ada L." in buyer.run("tickets", "show", ticket["id"]).stdout

    renamed = seller.ok("auth", "profile", "--name", "  Ada\tLovelace ")
    assert renamed["display_name"] == "Ada Lovelace"
    assert buyer.ok("tickets", "show", ticket["id"])["seller"] == "Ada Lovelace"
    for bad in ("", "x" * 65, "evil\x1b[2J"):
        refused = seller.run("auth", "profile", "--name", bad, "--json")
        assert refused.code in (1, 2), bad
        assert refused.error_json()["errors"][0]["field"] == "display_name"
    assert seller.ok("auth", "whoami")["display_name"] == "Ada Lovelace"
    longest = seller.ok("auth", "profile", "--name", "  " + "p" * 64 + "  ")  # 64 once trimmed
    assert longest["display_name"] == "p" * 64
    seller.ok("auth", "profile", "--name", "[/] [bold]Ada[/bold]")  # text, never markup
    assert "[/] [bold]Ada[/bold]" in buyer.run("tickets", "list").stdout
