"""One process at a time runs the expiration jobs of a store; when it is killed, another
server takes the leader lock over and the pending expirations still fire."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from openticket.store.leader import EXPIRATION_LEADER_KEY
from tests.conftest import eventually, postgres_database, running_server

TTL_SECONDS = 4


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    if request.param == "sqlite":
        yield tmp_path / "shared.db"
    else:
        with postgres_database() as url:
            yield url


def _query(store: Path | str, sql: str) -> list[tuple[object, ...]]:
    if isinstance(store, Path):
        with sqlite3.connect(store) as conn:
            return conn.execute(sql).fetchall()
    url = make_url(store)
    with psycopg.connect(
        f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
    ) as conn:
        return conn.execute(sql).fetchall()


def _leader(store: Path | str, servers: list[subprocess.Popen[bytes]]) -> object:
    """Who holds the leader lock: the server process (SQLite's lock file names its pid) or
    the PostgreSQL backend whose session holds the advisory lock."""
    if isinstance(store, Path):
        text = Path(f"{store}.expiration.lock").read_text().strip()
        return next((s for s in servers if str(s.pid) == text), None)
    rows = _query(
        store,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        f" AND objid = {EXPIRATION_LEADER_KEY}"
        # pg_locks is the whole cluster's: another test's servers hold the same key
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return rows[0][0] if rows else None


def test_a_second_server_takes_over_the_expiration_jobs(store: Path | str, tmp_path: Path) -> None:
    servers: list[subprocess.Popen[bytes]] = []
    env = {"OPENTICKET_ORDER_TTL": str(TTL_SECONDS)}
    with contextlib.ExitStack() as stack:
        homes = [tmp_path / "first", tmp_path / "second"]
        for home in homes:
            home.mkdir()
        stack.enter_context(running_server(store, homes[0], started=servers, **env))
        eventually(lambda: _leader(store, servers) is not None)
        first_leader = _leader(store, servers)
        url = stack.enter_context(running_server(store, homes[1], started=servers, **env))
        assert _leader(store, servers) == first_leader  # the second one waits

        def signup(email: str) -> str:
            body = {"email": email, "password": "long enough"}
            answer = httpx.post(f"{url}/api/users/signup", json=body, timeout=30)
            return str(answer.json()["token"])

        seller, buyer = signup("seller@example.com"), signup("buyer@example.com")
        ticket = httpx.post(
            f"{url}/api/tickets",
            json={"title": "Gig", "price": "20"},
            headers={"Authorization": f"Bearer {seller}"},
            timeout=30,
        ).json()
        order = httpx.post(
            f"{url}/api/orders",
            json={"ticket_id": ticket["id"]},
            headers={"Authorization": f"Bearer {buyer}"},
            timeout=30,
        ).json()

        servers[0].send_signal(signal.SIGKILL)  # the leader dies before the window ends
        servers[0].wait(timeout=10)
        eventually(lambda: _leader(store, servers) not in (None, first_leader))

        # Nobody reads through the API (which would expire lazily): the job fires.
        def expired() -> bool:
            status = _query(store, f"SELECT status FROM orders WHERE id = '{order['id']}'")
            ticket_status = _query(store, f"SELECT status FROM tickets WHERE id = '{ticket['id']}'")
            return status == [("expired",)] and ticket_status == [("available",)]

        eventually(expired, what="the second server's expiry")
