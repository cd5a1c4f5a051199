"""Bad input through the console script: one-line reason, the contract's JSON error shape and
exit code, and a store left exactly as it was."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import User, dump_store, signed_up


def _snapshot(root: Path) -> Path:
    with sqlite3.connect(root / "shared.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    saved = root.with_name(root.name + "-saved")
    shutil.copytree(root, saved)
    return saved


def _restore(saved: Path, root: Path) -> None:
    shutil.rmtree(root)
    shutil.copytree(saved, root)


@pytest.fixture(scope="module")
def market_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Built once per module (six CLI calls), restored byte for byte before each test."""
    root = tmp_path_factory.mktemp("market")

    def people(name: str) -> User:
        return User(home=root / "homes" / name, db_path=root / "shared.db")

    seller, buyer, other = people("seller"), people("buyer"), people("other")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    signed_up(other, "other@example.com")
    free = seller.ok("tickets", "create", "--title", "Free seat", "--price", "10")
    held = seller.ok("tickets", "create", "--title", "Held seat", "--price", "10")
    order = buyer.ok("orders", "create", held["id"])
    people("nobody").home.mkdir(parents=True)
    saved = _snapshot(root)
    yield {
        "root": root,
        "saved": saved,
        "seller": seller,
        "buyer": buyer,
        "other": other,
        "nobody": people("nobody"),
        "free": free,
        "held": held,
        "order": order,
    }


@pytest.fixture
def market(market_template: dict[str, Any]) -> dict[str, Any]:
    _restore(market_template["saved"], market_template["root"])
    return market_template


CASES = [
    # (who, args, exit code, message fragment, field)
    ("seller", ["tickets", "create", "--title", "t", "--price", "0"], 1, "greater than 0", "price"),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "-5"],
        1,
        "greater than 0",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "abc"],
        1,
        "decimal number",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "1e309"],
        1,
        "decimal number",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "12.345"],
        1,
        "at most 2 decimal",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "12.5", "--currency", "JPY"],
        1,
        "no decimal",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "49", "--currency", "JPY"],
        1,
        "at least 50 JPY",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "0.49"],
        1,
        "at least 0.50 USD",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "1000000"],
        1,
        "at most 999999.99",
        "price",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "t", "--price", "5", "--currency", "XYZ"],
        1,
        "currency",
        "currency",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "", "--price", "5"],
        1,
        "Title is required",
        "title",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "   ", "--price", "5"],
        1,
        "Title is required",
        "title",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "x" * 10_000, "--price", "5"],
        1,
        "at most 200",
        "title",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "bad\x1b[31mtitle", "--price", "5"],
        1,
        "control characters",
        "title",
    ),
    (
        "seller",
        ["tickets", "create", "--title", "line\nbreak", "--price", "5"],
        1,
        "control characters",
        "title",
    ),
    (
        "nobody",
        ["auth", "signup", "not-an-email", "--password", "long enough"],
        1,
        "Email must be valid",
        "email",
    ),
    (
        "nobody",
        ["auth", "signup", "new@example.com", "--password", "short"],
        1,
        "at least 8",
        "password",
    ),
    (
        "nobody",
        ["auth", "signup", "SELLER@Example.com", "--password", "long enough"],
        5,
        "Email in use",
        "email",
    ),
    (
        "nobody",
        ["auth", "signin", "seller@example.com", "--password", "wrong password"],
        1,
        "Invalid credentials",
        None,
    ),
    (
        "nobody",
        ["auth", "signin", "ghost@example.com", "--password", "wrong password"],
        1,
        "Invalid credentials",
        None,
    ),
    ("nobody", ["tickets", "create", "--title", "t", "--price", "5"], 3, "Not signed in", None),
    ("nobody", ["orders", "list"], 3, "Not signed in", None),
    ("nobody", ["auth", "whoami"], 3, "Not signed in", None),
    ("nobody", ["tickets", "list", "--mine"], 3, "Not signed in", None),
    ("other", ["tickets", "update", "{free}", "--price", "20"], 3, "Not Authorized", None),
    ("seller", ["tickets", "update", "{held}", "--title", "new"], 5, "reserved", None),
    ("seller", ["tickets", "update", "{free}"], 1, "Nothing to update", None),
    ("seller", ["tickets", "update", "{free}", "--price", "0.10"], 1, "at least 0.50", "price"),
    ("seller", ["orders", "create", "{free}"], 3, "your own ticket", "ticket_id"),
    ("other", ["orders", "create", "missing-ticket"], 4, "Ticket not found", "ticket_id"),
    ("other", ["orders", "create", "{held}"], 5, "already reserved", "ticket_id"),
    ("other", ["tickets", "show", "missing-ticket"], 4, "not found", "ticket_id"),
    ("other", ["orders", "show", "{order}"], 3, "Not Authorized", None),
    ("other", ["orders", "cancel", "{order}"], 3, "Not Authorized", None),
    ("other", ["pay", "{order}"], 3, "Not Authorized", None),
    ("other", ["orders", "show", "missing-order"], 4, "Order not found", "order_id"),
    ("buyer", ["pay", "{order}", "--card", "tok_chargeDeclined"], 1, "declined", "card"),
    ("buyer", ["pay", "{order}", "--card", "tok_nonsense"], 1, "No such payment token", "card"),
]


@pytest.mark.parametrize(
    ("who", "args", "code", "fragment", "field"), CASES, ids=[" ".join(c[1])[:60] for c in CASES]
)
def test_refused_command_changes_nothing(
    market: dict[str, Any], who: str, args: list[str], code: int, fragment: str, field: str | None
) -> None:
    person: User = market[who]
    ids = {
        "free": market["free"]["id"],
        "held": market["held"]["id"],
        "order": market["order"]["id"],
    }
    argv = [arg.format(**ids) if arg.startswith("{") else arg for arg in args]
    before = dump_store(person.db_path)

    as_json = person.run(*argv, "--json")
    assert as_json.code == code, as_json.stderr
    assert as_json.stdout == ""
    errors = as_json.error_json()["errors"]
    assert len(errors) == 1
    assert fragment.lower() in errors[0]["message"].lower()
    assert errors[0]["field"] == field

    as_text = person.run(*argv)
    assert as_text.code == code
    lines = as_text.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "Traceback" not in as_text.stderr

    after = dump_store(person.db_path)
    if "pay" in argv:
        # A card attempt is recorded (as Stripe records a declined PaymentIntent), with its
        # start and failure in the log and its number on the order; the order's status and
        # version, the ticket and every other event are as they were: it stays payable.
        for table in ("payments", "payments_local_charges"):
            before.pop(table), after.pop(table)
        logged_before = before.pop("outbox")
        new_events = [row for row in after.pop("outbox") if row not in logged_before]
        assert {row[2] for row in new_events} <= {"payment:started", "payment:failed"}
        assert _without_attempt(after.pop("orders")) == _without_attempt(before.pop("orders"))
    assert after == before


def _without_attempt(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Order rows without their last payment attempt's number (orders.payment_attempt, the
    11th column: migration 0005 added it after the first ten)."""
    return [row[:10] + row[11:] for row in rows]


def test_declined_card_leaves_order_payable(market: dict[str, Any]) -> None:
    buyer: User = market["buyer"]
    order_id = market["order"]["id"]
    assert buyer.run("pay", order_id, "--card", "tok_chargeDeclinedInsufficientFunds").code == 1
    assert buyer.ok("orders", "show", order_id)["status"] == "created"
    paid = buyer.ok("pay", order_id, "--card", "tok_visa")
    assert paid["status"] == "succeeded"
    assert buyer.ok("orders", "show", order_id)["status"] == "complete"


def test_signin_errors_do_not_tell_which_part_was_wrong(market: dict[str, Any]) -> None:
    nobody: User = market["nobody"]
    wrong_password = nobody.run("auth", "signin", "seller@example.com", "--password", "nope nope")
    unknown_email = nobody.run("auth", "signin", "ghost@example.com", "--password", "nope nope")
    assert wrong_password.stderr == unknown_email.stderr
    assert wrong_password.code == unknown_email.code == 1


def test_usage_errors_exit_2(market: dict[str, Any]) -> None:
    seller: User = market["seller"]
    assert seller.run("tickets", "create", "--title", "no price").code == 2
    assert seller.run("tickets", "frobnicate").code == 2
