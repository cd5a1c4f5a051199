"""`tickets list --sort`, embedded and through a server: the whole marketplace in order, not
one page sorted."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import User, signed_up


def test_sorted_listing(people_anywhere: Callable[..., User]) -> None:
    seller = people_anywhere("seller")
    signed_up(seller, "seller@example.com")
    for title, price in [("beta", "30"), ("Alpha", "10"), ("gamma", "20")]:
        seller.ok("tickets", "create", "--title", title, "--price", price)

    def titles(*args: str) -> list[str]:
        return [t["title"] for t in seller.ok("tickets", "list", *args)]

    assert titles() == ["beta", "Alpha", "gamma"]  # as listed
    assert titles("--sort", "price") == ["Alpha", "gamma", "beta"]
    assert titles("--sort", "-price") == ["beta", "gamma", "Alpha"]
    assert titles("--sort", "title") == ["Alpha", "beta", "gamma"]  # case-insensitive
    assert titles("--sort", "-title", "--limit", "1", "--offset", "1") == ["beta"]
    seller.ok("tickets", "create", "--title", "Kabuki", "--price", "4500", "--currency", "JPY")
    seller.ok("tickets", "create", "--title", "Symphony", "--price", "42", "--currency", "EUR")
    # by currency, then amount: 4500 JPY is not "more" than 42 EUR
    assert titles("--sort", "price") == ["Symphony", "Kabuki", "Alpha", "gamma", "beta"]
    assert titles("--sort", "-price") == ["Symphony", "Kabuki", "beta", "gamma", "Alpha"]
    refused = seller.run("tickets", "list", "--sort", "seller", "--json")
    assert refused.code == 1
    assert refused.error_json()["errors"][0]["field"] == "sort"
