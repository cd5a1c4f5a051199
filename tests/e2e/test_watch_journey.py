"""Watching for tickets through the real `openticket` console script: embedded on one SQLite
file, through a real `openticket serve`, and scaled out on PostgreSQL + NATS with a worker per
domain (notify among them). A watcher saves a search, a seller lists a match, the watcher's
`notifications` say so once; the seller hears of the sale; bad input is a one-line error."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import (
    OPENTICKET,
    PATIENCE_SECONDS,
    User,
    eventually,
    running_server,
    signed_up,
)
from tests.e2e.test_server_events import _read_events
from tests.modes import in_three_modes  # noqa: F401  (people: each test in three modes)

PASSWORD = "correct horse"
HOSTILE = "[/] [bold]x[/bold] <b>"


def _person(people: Callable[..., User], name: str) -> User:
    someone = people(name)
    signed_up(someone, f"{name}@example.com", PASSWORD)
    return someone


def _news(user: User, kind: str, count: int) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]] | None:
        news = [n for n in user.ok("notifications") if n["kind"] == kind]
        return news if len(news) >= count else None

    news: list[dict[str, Any]] = eventually(found, what=f"{count} {kind} notifications")
    return news


def test_a_watch_announces_a_listing_once_and_the_seller_hears_of_the_sale(
    people: Callable[..., User],
) -> None:
    seller, watcher = _person(people, "seller"), _person(people, "watcher")
    watch = watcher.ok("watch", "add", "--search", HOSTILE, "--max-price", "50")
    assert set(watch) == {"id", "search", "max_price", "currency", "created_at"}
    assert (watch["search"], watch["max_price"], watch["currency"]) == (HOSTILE, "50.00", "USD")

    ticket = seller.ok("tickets", "create", "--title", f"Opera {HOSTILE}", "--price", "45.00")
    seller.ok("tickets", "update", ticket["id"], "--price", "44.00")  # the same listing

    [hit] = _news(watcher, "watch:matched", 1)
    assert hit["data"]["ticket"] == {
        "id": ticket["id"],
        "title": f"Opera {HOSTILE}",
        "price": "45.00",
        "currency": "USD",
    }
    # Shown as typed, markup and all, to people too.
    listed = watcher.run("watch", "list")
    assert listed.code == 0 and HOSTILE in listed.stdout
    lines = watcher.run("notifications")
    assert lines.code == 0 and f"'Opera {HOSTILE}' listed at 45.00 USD" in lines.stdout

    order = watcher.ok("orders", "create", ticket["id"])
    watcher.ok("pay", order["id"])
    [sold] = _news(seller, "ticket:sold", 1)
    assert sold["data"] == {
        "order_id": order["id"],
        "ticket_id": ticket["id"],
        "title": ticket["title"],
    }
    assert len([n for n in watcher.ok("notifications") if n["kind"] == "watch:matched"]) == 1

    assert watcher.ok("watch", "remove", watch["id"]) == {"removed": watch["id"]}
    assert watcher.ok("watch", "list") == []


def test_bad_watches_are_one_line_errors(people: Callable[..., User]) -> None:
    [watcher] = [_person(people, "watcher")]
    empty = watcher.run("watch", "add", "--search", " ", "--json")
    assert empty.code == 1
    assert empty.error_json()["errors"][0]["field"] == "search"
    price = watcher.run("watch", "add", "--search", "opera", "--max-price", "cheap")
    assert price.code == 1 and price.stderr.count("\n") == 1 and "Traceback" not in price.stderr
    unknown = watcher.run("watch", "remove", "0" * 32, "--json")
    assert unknown.code == 4
    assert unknown.error_json() == {
        "errors": [{"message": "No watch of yours with this id", "field": "id"}]
    }
    odd = watcher.run("watch", "remove", "../../api/tickets", "--json")
    assert odd.code == 4
    anonymous = people("anonymous").run("notifications", "--json")
    assert anonymous.code == 3
    assert watcher.ok("watch", "list") == []


def test_follow_prints_news_as_json_lines(people: Callable[..., User]) -> None:
    seller, watcher = _person(people, "seller"), _person(people, "watcher")
    watcher.ok("watch", "add", "--search", "gala")
    following = subprocess.Popen(
        [*OPENTICKET, "notifications", "--follow", "--json"],
        env=watcher.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # If the news never comes, the follower is stopped and the read below ends empty.
    watchdog = threading.Timer(PATIENCE_SECONDS, following.kill)
    watchdog.start()
    try:
        ticket = seller.ok("tickets", "create", "--title", "Gala", "--price", "30.00")
        assert following.stdout is not None
        line = following.stdout.readline()
        assert line, "no news came"
        news = json.loads(line)
        assert (news["kind"], news["data"]["ticket"]["id"]) == ("watch:matched", ticket["id"])
    finally:
        watchdog.cancel()
        following.terminate()
        following.wait(timeout=PATIENCE_SECONDS)


def test_a_signed_in_client_follows_its_news_as_server_sent_events(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with running_server(tmp_path / "db.sqlite", tmp_path / "server") as url:
        seller = User(tmp_path / "a", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        watcher = User(tmp_path / "b", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        signed_up(seller, "seller@example.com", PASSWORD)
        signed_up(watcher, "watcher@example.com", PASSWORD)
        watcher.ok("watch", "add", "--search", "gala")
        with httpx.Client(base_url=url, timeout=PATIENCE_SECONDS) as client:
            credentials = {"email": "watcher@example.com", "password": PASSWORD}
            token = client.post("/api/users/signin", json=credentials).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/me/events").status_code == 401
            with client.stream("GET", "/api/me/events", headers=auth) as stream:
                first = seller.ok("tickets", "create", "--title", "Gala 1", "--price", "5")
                second = seller.ok("tickets", "create", "--title", "Gala 2", "--price", "5")
                seen = _read_events(stream, 2, timeout=PATIENCE_SECONDS)
            assert [(e["event"], e["data"]["data"]["ticket"]["id"]) for e in seen] == [
                ("watch:matched", first["id"]),
                ("watch:matched", second["id"]),
            ]
            # Reconnecting after the first misses nothing and repeats nothing.
            again_headers = auth | {"Last-Event-ID": str(seen[0]["id"])}
            with client.stream(
                "GET", "/api/me/events", headers=again_headers, params={"follow": "false"}
            ) as stream:
                again = _read_events(stream, 10, timeout=PATIENCE_SECONDS)
            assert [e["id"] for e in again] == [seen[1]["id"]]
            bad = client.get("/api/me/events", headers=auth | {"Last-Event-ID": "x"})
            assert bad.status_code == 400
            empty = auth | {"Last-Event-ID": ""}  # names no event: from the start
            with client.stream(
                "GET", "/api/me/events", headers=empty, params={"follow": "false"}
            ) as stream:
                assert stream.status_code == 200
                assert len(_read_events(stream, 10, timeout=PATIENCE_SECONDS)) == 2
            assert (
                client.get("/api/me/notifications", headers=auth).json()[0]["seq"] == seen[0]["id"]
            )
