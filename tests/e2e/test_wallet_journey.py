"""Tickets people hold, through the real `openticket` console script: embedded on one SQLite
file, through a real `openticket serve`, and scaled out on PostgreSQL + NATS with a worker
per domain. Buy, hold a signed code, resell within the cap, be revoked by the next sale,
check in once, give a ticket away, and verify offline against a synced list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import User, eventually, marketplace, signed_up
from tests.modes import in_three_modes  # noqa: F401  (people: each test in three modes)

PASSWORD = "correct horse"


def _person(people: Callable[..., User], name: str) -> User:
    someone = people(name)
    signed_up(someone, f"{name}@example.com", PASSWORD)
    return someone


def _buy(buyer: User, ticket_id: str) -> None:
    order = buyer.ok("orders", "create", ticket_id)
    buyer.ok("pay", order["id"], "--card", "tok_visa")
    # Scaled out, the tickets worker makes the buyer the holder: `pay` waits for that chain,
    # but only so long; a loaded machine may take longer.
    eventually(
        lambda: any(e["ticket"]["id"] == ticket_id for e in buyer.ok("wallet")),
        what="the bought ticket in the buyer's wallet",
    )


def _code(holder: User, ticket_id: str) -> str:
    entry: dict[str, Any] = holder.ok("wallet", "show", ticket_id)
    return str(entry["code"])


def _verdict(anyone: User, *args: str) -> tuple[int, dict[str, Any]]:
    done = anyone.run("verify", *args, "--json")
    return done.code, done.json()


def test_buy_hold_resell_revoke_check_in(people: Callable[..., User]) -> None:
    issuer, first, second = (_person(people, n) for n in ("issuer", "first", "second"))
    stranger = people("stranger")  # never signed in: anyone may verify
    ticket = issuer.ok("tickets", "create", "--title", "Gig [/] night", "--price", "20.00")
    assert first.ok("wallet") == []
    _buy(first, ticket["id"])

    [entry] = first.ok("wallet")
    assert entry["ticket"]["id"] == ticket["id"]
    assert (entry["paid"], entry["currency"], entry["checked_in_at"]) == ("20.00", "USD", None)
    first_code = entry["code"]
    assert _verdict(stranger, first_code) == (
        0,
        {
            "status": "valid",
            "ticket_id": ticket["id"],
            "title": "Gig [/] night",
            "checked_in_at": None,
        },
    )
    text = first.run("wallet", "show", ticket["id"])
    assert first_code in text.stdout and "█" in text.stdout  # the code, and its QR code

    above = first.run("tickets", "resell", ticket["id"], "--price", "22.01", "--json")
    assert above.code == 1
    assert "22.00" in above.error_json()["errors"][0]["message"]
    listed = first.ok("tickets", "resell", ticket["id"], "--price", "22.00")
    assert (listed["status"], listed["price"], listed["resale"]) == ("available", "22.00", True)
    assert _verdict(stranger, first_code)[0] == 0  # valid while listed

    _buy(second, ticket["id"])
    assert first.ok("wallet") == []
    second_code = _code(second, ticket["id"])
    assert second_code != first_code
    assert _verdict(stranger, first_code) == (
        5,
        {
            "status": "revoked",
            "ticket_id": ticket["id"],
            "title": "Gig [/] night",
            "checked_in_at": None,
        },
    )
    assert _verdict(stranger, second_code)[0] == 0
    tampered = second_code[:50] + ("B" if second_code[50] == "A" else "A") + second_code[51:]
    assert _verdict(stranger, tampered) == (
        1,
        {"status": "invalid", "ticket_id": None, "title": None, "checked_in_at": None},
    )

    assert second.run("checkin", second_code, "--json").code == 3  # not the issuer
    scanned = issuer.ok("checkin", second_code)
    assert scanned["ticket_id"] == ticket["id"]
    again = issuer.run("checkin", second_code, "--json")
    assert again.code == 5
    assert "already checked in at" in again.error_json()["errors"][0]["message"]
    code, used = _verdict(stranger, second_code)
    assert (code, used["status"], used["checked_in_at"]) == (5, "used", scanned["checked_in_at"])
    assert second.run("tickets", "resell", ticket["id"], "--price", "20", "--json").code == 5
    gift = second.run("wallet", "transfer", ticket["id"], "--to", "first@example.com", "--json")
    assert gift.code == 5

    history = [(t["role"], t["kind"], t["price"]) for t in first.ok("wallet", "history")]
    assert history == [("to", "sale", "20.00"), ("from", "sale", "22.00")]


def test_a_gift_and_offline_verification_against_a_synced_list(
    people: Callable[..., User],
) -> None:
    issuer, giver, friend, other = (
        _person(people, n) for n in ("issuer", "giver", "friend", "other")
    )
    door = _person(people, "door")
    ticket = issuer.ok("tickets", "create", "--title", "Play", "--price", "30")
    _buy(giver, ticket["id"])
    giver_code = _code(giver, ticket["id"])
    given = giver.ok("wallet", "transfer", ticket["id"], "--to", "friend@example.com")
    assert given["id"] == ticket["id"]
    assert giver.ok("wallet") == []
    friend_code = _code(friend, ticket["id"])
    assert _verdict(door, giver_code)[1]["status"] == "revoked"

    synced = door.ok("verify", "--sync")
    assert synced["keys"] == 1
    code, offline = _verdict(door, "--offline", friend_code)
    assert (code, offline["status"], offline["offline"]) == (0, "valid", True)
    assert offline["list_age_seconds"] >= 0 and offline["as_of"] == synced["as_of"]
    assert _verdict(door, "--offline", giver_code)[1]["status"] == "revoked"

    friend.ok("wallet", "transfer", ticket["id"], "--to", "other@example.com")  # after the sync
    code, stale = _verdict(door, "--offline", friend_code)
    assert (code, stale["status"]) == (0, "valid")  # valid as of the list's time, which it says
    assert stale["as_of"] == synced["as_of"]
    assert _verdict(door, friend_code)[1]["status"] == "revoked"  # online knows
    door.ok("verify", "--sync")
    assert _verdict(door, "--offline", friend_code)[:1] == (5,)

    issuer.ok("checkin", "staff", "add", "door@example.com")
    other_code = _code(other, ticket["id"])
    assert door.ok("checkin", other_code)["ticket_id"] == ticket["id"]
    door.ok("verify", "--sync")
    assert _verdict(door, "--offline", other_code)[1]["status"] == "used"


def test_the_offline_list_follows_a_key_revocation_and_survives_damage(tmp_path: Path) -> None:
    with marketplace("embedded", tmp_path) as people:
        issuer, holder = _person(people, "issuer"), _person(people, "holder")
        door = people("door")
        ticket = issuer.ok("tickets", "create", "--title", "Play", "--price", "30")
        _buy(holder, ticket["id"])
        old_code = _code(holder, ticket["id"])
        door.ok("verify", "--sync")
        assert _verdict(door, "--offline", old_code)[0] == 0
        rotated = issuer.ok("checkin", "rotate-key", "--revoke-all")
        assert rotated["revoked_all"] is True
        assert door.ok("verify", "--sync")["keys"] == 1  # the dropped key is gone here too
        assert _verdict(door, "--offline", old_code)[1]["status"] == "invalid"
        new_code = _code(holder, ticket["id"])
        assert _verdict(door, "--offline", new_code)[0] == 0

        (door.home / "code-lists.json").write_text(
            '{"x": 1, "' + _target(door) + '": {"last": "x"}}'
        )
        damaged = door.run("verify", "--offline", new_code, "--json")
        assert damaged.code == 1
        assert "damaged" in damaged.error_json()["errors"][0]["message"]
        assert "Traceback" not in damaged.stderr
        door.ok("verify", "--sync")  # fetched again from the start
        assert _verdict(door, "--offline", new_code)[0] == 0


def _target(person: User) -> str:
    from openticket.credentials import target_key

    return target_key(f"sqlite:///{person.db_path}")


def test_a_wallet_id_that_names_another_route_is_not_found(tmp_path: Path) -> None:
    with marketplace("server", tmp_path) as people:
        holder = _person(people, "holder")
        for odd in ("transfers", ".", ".."):
            shown = holder.run("wallet", "show", odd, "--json")
            assert shown.code == 4, shown.stderr
            resold = holder.run("tickets", "resell", odd, "--price", "1", "--json")
            assert resold.code == 4, resold.stderr


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_an_issuer_lists_and_removes_check_in_staff(mode: str, tmp_path: Path) -> None:
    """A helper who left stops checking in at once; each issuer sees their own staff only."""
    with marketplace(mode, tmp_path) as people:
        issuer, holder, door, other = (
            _person(people, n) for n in ("issuer", "holder", "door", "other")
        )
        door.ok("auth", "profile", "--name", "[bold]Door[/] crew")
        ticket = issuer.ok("tickets", "create", "--title", "Play", "--price", "30")
        _buy(holder, ticket["id"])
        code = _code(holder, ticket["id"])
        assert issuer.ok("checkin", "staff", "list") == []

        added = issuer.ok("checkin", "staff", "add", "door@example.com")
        other.ok("checkin", "staff", "add", "holder@example.com")
        [member] = issuer.ok("checkin", "staff", "list")
        assert member["staff"]["email"] == "door@example.com"
        assert member["added_at"] == added["added_at"]
        assert issuer.ok("checkin", "staff", "add", "door@example.com") == added  # once
        listed = issuer.run("checkin", "staff", "list")
        assert listed.code == 0 and "[bold]Door[/] crew" in listed.stdout  # shown as typed
        assert [m["staff"]["email"] for m in other.ok("checkin", "staff", "list")] == [
            "holder@example.com"
        ]

        removed = issuer.ok("checkin", "staff", "remove", "door@example.com")
        assert removed["email"] == "door@example.com"
        assert issuer.ok("checkin", "staff", "list") == []
        assert door.run("checkin", code, "--json").code == 3  # at once, not after a login
        again = issuer.run("checkin", "staff", "remove", "door@example.com", "--json")
        assert again.code == 4
        assert again.error_json()["errors"][0]["field"] == "email"
        assert issuer.run("checkin", "staff", "remove", "not an email", "--json").code == 1
        unknown = issuer.run("checkin", "staff", "remove", "nobody@example.com", "--json")
        assert unknown.error_json() == again.error_json()  # no probing who has an account
        slashed = people("slashed")  # an email may hold a "/", in a URL path too
        signed_up(slashed, "a/b@example.com", PASSWORD)
        issuer.ok("checkin", "staff", "add", "a/b@example.com")
        assert (
            issuer.ok("checkin", "staff", "remove", "a/b@example.com")["id"]
            == (slashed.ok("auth", "whoami")["id"])
        )
        assert issuer.ok("checkin", "staff", "list") == []
        assert people("nobody").run("checkin", "staff", "list", "--json").code == 3
        assert issuer.ok("checkin", code)["ticket_id"] == ticket["id"]
