"""Two `openticket serve` processes on one PostgreSQL database, 64 clients racing to reserve
from a small pool of tickets: the database lets every ticket go to one live order at most."""

from __future__ import annotations

import contextlib
import random
import threading
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN, running_server

CLIENTS = 64
TICKETS = 12
TRIES_PER_CLIENT = 4


def test_two_servers_never_give_a_ticket_two_live_orders(postgres_url: str, tmp_path: Path) -> None:
    homes = [tmp_path / "a", tmp_path / "b"]
    for home in homes:
        home.mkdir()
    with contextlib.ExitStack() as stack:
        many = {"OPENTICKET_SIGNUPS_PER_MINUTE": "100000"}  # all from one address
        urls = [stack.enter_context(running_server(postgres_url, home, **many)) for home in homes]
        seller = _signup(urls[0], "seller@example.com")
        ticket_ids = [
            _post(urls[0], "/api/tickets", {"title": f"Seat {n}", "price": "20"}, seller)["id"]
            for n in range(TICKETS)
        ]
        tokens = [_signup(urls[n % 2], f"racer{n}@example.com") for n in range(CLIENTS)]

        won: list[tuple[str, str]] = []  # (ticket id, order id) per 201
        refused: list[int] = []
        problems: list[str] = []
        start = threading.Barrier(CLIENTS)

        def race(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=urls[n % 2], timeout=60) as client:
                start.wait()
                for ticket_id in rng.sample(ticket_ids, TRIES_PER_CLIENT):
                    response = client.post(
                        "/api/orders",
                        json={"ticket_id": ticket_id},
                        headers={"Authorization": f"Bearer {tokens[n]}"},
                    )
                    if response.status_code == 201:
                        won.append((ticket_id, response.json()["id"]))
                    elif response.status_code == 409:
                        refused.append(n)
                    else:
                        problems.append(f"{response.status_code} {response.text}")

        threads = [threading.Thread(target=race, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    assert problems == []
    assert len(won) + len(refused) == CLIENTS * TRIES_PER_CLIENT
    assert sorted(t for t, _ in won) == sorted(ticket_ids)  # each ticket won exactly once
    with psycopg.connect(_libpq(postgres_url)) as conn:
        live = conn.execute(
            "SELECT ticket_id, count(*) FROM orders"
            " WHERE status IN ('created', 'awaiting:payment', 'complete') GROUP BY ticket_id"
        ).fetchall()
        reserved = dict(
            conn.execute("SELECT id, order_id FROM tickets WHERE status = 'reserved'").fetchall()
        )
    assert sorted(live) == sorted((ticket_id, 1) for ticket_id in ticket_ids)
    assert reserved == dict(won)  # the tickets domain agrees on every winner


def _libpq(url: str) -> str:
    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"


def _post(base: str, path: str, body: dict[str, str], token: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{base}{path}", json=body, headers=headers, timeout=60)
    assert response.status_code == 201, response.text
    answer: dict[str, str] = response.json()
    return answer


def _signup(base: str, email: str) -> str:
    return _post(base, "/api/users/signup", {"email": email, "password": "long enough"})["token"]


def test_a_database_that_went_away_is_503_not_500(postgres_url: str, tmp_path: Path) -> None:
    """The server cannot reach its database (dropped here; full or restarting in life): the
    client is told to try again later, in the contract's error shape, and nothing leaks."""
    home = tmp_path / "home"
    home.mkdir()
    with running_server(postgres_url, home) as url:
        token = _signup(url, "buyer@example.com")
        name = make_url(postgres_url).database
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        response = httpx.get(
            f"{url}/api/orders", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        assert response.json() == {
            "errors": [{"message": "The database is unavailable for now: try again", "field": None}]
        }
