"""/api/events: a live view sees listings, reservations and the unlock after expiry, in
order; reconnecting with Last-Event-ID misses nothing. `events tail --server` follows it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import PATIENCE_SECONDS, User, running_server, signed_up


def _read_events(response: httpx.Response, count: int, timeout: float) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    for line in response.iter_lines():
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and current:
            seen.append(current)
            current = {}
            if len(seen) >= count:
                break
        if time.monotonic() > deadline:
            break
    return seen


def test_live_view_sees_listing_reservation_and_expiry(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with running_server(
        tmp_path / "db.sqlite", tmp_path / "server", OPENTICKET_ORDER_TTL="2"
    ) as url:
        seller = User(tmp_path / "a", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        buyer = User(tmp_path / "b", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        signed_up(seller, "seller@example.com")
        signed_up(buyer, "buyer@example.com")
        with (
            httpx.Client(base_url=url, timeout=PATIENCE_SECONDS) as client,
            client.stream("GET", "/api/events", headers={"Accept": "text/event-stream"}) as stream,
        ):
            ticket = seller.ok("tickets", "create", "--title", "Live", "--price", "5")
            buyer.ok("orders", "create", ticket["id"])
            # Nobody reads or writes now: the server's scheduler expires the order.
            seen = _read_events(stream, 3, timeout=PATIENCE_SECONDS)
        assert [(e["event"], e["data"]["data"]["status"]) for e in seen] == [
            ("ticket:created", "available"),
            ("ticket:updated", "reserved"),
            ("ticket:updated", "available"),
        ]
        assert [e["id"] for e in seen] == sorted(e["id"] for e in seen)
        assert all(e["data"]["subject"].startswith("ticket:") for e in seen)

        # Reconnect after the first event: the rest arrives, nothing is skipped.
        with (
            httpx.Client(base_url=url, timeout=PATIENCE_SECONDS) as client,
            client.stream(
                "GET",
                "/api/events",
                headers={"Last-Event-ID": str(seen[0]["id"])},
                params={"follow": "false"},
            ) as stream,
        ):
            again = _read_events(stream, 10, timeout=PATIENCE_SECONDS)
        assert [e["id"] for e in again] == [e["id"] for e in seen[1:]]

        tail = seller.run("events", "tail", "--no-follow", "--after", "0", "--json")
        assert tail.code == 0, tail.stderr
        subjects = [json.loads(line)["subject"] for line in tail.stdout.splitlines()]
        assert subjects == ["ticket:created", "ticket:updated", "ticket:updated"]
