"""Waitlists through the real `openticket` console script: embedded on one SQLite file,
through a real `openticket serve`, and scaled out on PostgreSQL + NATS with a worker per
domain. Three people wait for a reserved ticket; when its order ends it goes to them in the
order they joined, each one that passes hands it on, the last one pays. Two joiners racing
get distinct places; bad input is a one-line error that changes nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from tests.conftest import OPENTICKET, PATIENCE_SECONDS, User, eventually, signed_up
from tests.modes import in_three_modes  # noqa: F401  (people: each test in three modes)

PASSWORD = "correct horse"
HOSTILE = "Gala [/] [bold]x[/bold] <b>"


def _person(people: Callable[..., User], name: str) -> User:
    someone = people(name)
    signed_up(someone, f"{name}@example.com", PASSWORD)
    return someone


def _entry(user: User) -> dict[str, Any]:
    [entry] = user.ok("waitlist", "list")
    return dict(entry)


def _offered(user: User) -> dict[str, Any]:
    def offer() -> dict[str, Any] | None:
        entry = _entry(user)
        return entry if entry["status"] == "offered" else None

    found: dict[str, Any] = eventually(offer, what="an offer")
    return found


def test_a_reserved_ticket_goes_down_its_line_until_someone_pays(
    people: Callable[..., User],
) -> None:
    seller, holder = _person(people, "seller"), _person(people, "holder")
    first, second, third = (_person(people, name) for name in ("first", "second", "third"))
    ticket = seller.ok("tickets", "create", "--title", HOSTILE, "--price", "25.00")
    order = holder.ok("orders", "create", ticket["id"])

    joined = [user.ok("waitlist", "join", ticket["id"]) for user in (first, second, third)]
    assert set(joined[0]) == {
        "id",
        "ticket_id",
        "title",
        "status",
        "place",
        "order_id",
        "offer_expires_at",
        "joined_at",
    }
    assert [(e["status"], e["place"], e["title"]) for e in joined] == [
        ("waiting", 1, HOSTILE),
        ("waiting", 2, HOSTILE),
        ("waiting", 3, HOSTILE),
    ]
    shown = third.run("waitlist", "list")
    assert shown.code == 0 and HOSTILE in shown.stdout and "waiting, place 3" in shown.stdout

    holder.ok("orders", "cancel", order["id"])  # the holder lets go: the first has it
    offer = _offered(first)
    assert offer["order_id"] != order["id"] and offer["offer_expires_at"]
    mine = first.ok("orders", "show", offer["order_id"])
    assert (mine["status"], mine["ticket"]["id"]) == ("created", ticket["id"])
    assert holder.run("orders", "create", ticket["id"]).code == 5  # not back on sale
    assert _entry(second)["place"] == 1

    first.ok("orders", "cancel", offer["order_id"])  # the first passes
    offer = _offered(second)
    second.ok("waitlist", "leave", ticket["id"])  # the second leaves with it: on to the third
    offer = _offered(third)
    third.ok("pay", offer["order_id"])

    def sold() -> bool:
        return bool(seller.ok("tickets", "show", ticket["id"])["status"] == "sold")

    eventually(sold, what="the ticket sold")
    assert [_entry(u)["status"] for u in (first, second, third)] == ["passed", "left", "bought"]

    def told() -> list[dict[str, Any]] | None:
        news = [n for n in third.ok("notifications") if n["kind"] == "waitlist:offered"]
        return news or None

    [news] = eventually(told, what="the offer's news")
    assert news["data"]["order_id"] == offer["order_id"] and news["data"]["title"] == HOSTILE
    lines = third.run("notifications")
    assert lines.code == 0 and f"Your turn: {HOSTILE!r}" in lines.stdout


def test_two_joiners_racing_get_distinct_places(people: Callable[..., User]) -> None:
    seller, holder = _person(people, "seller"), _person(people, "holder")
    racers = [_person(people, name) for name in ("left", "right")]
    ticket = seller.ok("tickets", "create", "--title", "Opera", "--price", "25.00")
    holder.ok("orders", "create", ticket["id"])
    running = [
        subprocess.Popen(
            [*OPENTICKET, "waitlist", "join", ticket["id"], "--json"],
            env=racer.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for racer in racers
    ]
    outcomes = [process.communicate(timeout=PATIENCE_SECONDS) for process in running]
    assert [process.returncode for process in running] == [0, 0], outcomes
    assert sorted(_entry(racer)["place"] for racer in racers) == [1, 2]


def test_bad_joins_are_one_line_errors_and_change_nothing(people: Callable[..., User]) -> None:
    seller, holder, waiter = (_person(people, n) for n in ("seller", "holder", "waiter"))
    ticket = seller.ok("tickets", "create", "--title", "Opera", "--price", "25.00")

    free = waiter.run("waitlist", "join", ticket["id"], "--json")
    assert free.code == 5
    assert free.error_json() == {
        "errors": [{"message": "Ticket is available: reserve it instead", "field": "ticket_id"}]
    }
    unknown = waiter.run("waitlist", "join", "0" * 32, "--json")
    assert unknown.code == 4
    odd = waiter.run("waitlist", "leave", "../../api/tickets")
    assert odd.code == 4 and odd.stderr.count("\n") == 1 and "Traceback" not in odd.stderr
    holder.ok("orders", "create", ticket["id"])
    own = seller.run("waitlist", "join", ticket["id"], "--json")
    assert own.code == 3
    waiter.ok("waitlist", "join", ticket["id"])
    again = waiter.run("waitlist", "join", ticket["id"], "--json")
    assert again.code == 5 and "already" in again.error_json()["errors"][0]["message"]
    anonymous = people("anonymous").run("waitlist", "list", "--json")
    assert anonymous.code == 3
    assert [e["place"] for e in waiter.ok("waitlist", "list")] == [1]
    assert seller.ok("waitlist", "list") == []
