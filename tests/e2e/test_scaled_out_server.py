"""`openticket serve` scaled out (real PostgreSQL, real NATS JetStream, a worker process per
domain): a reservation's answer means what it says. The server writes concurrent requests in
batches and does not wait for the other domains' processes in the writing thread, yet each
buyer is answered only once those processes applied the reservation (here the tickets
process is paused until every reservation is written: nobody is answered before it goes on),
so what the buyer reads next already shows it, without polling."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import (
    eventually,
    running_server,
)
from tests.e2e.test_scaled_out import Cluster, cluster  # noqa: F401 - its fixture

BUYERS = 8


def _post(base: str, path: str, body: dict[str, str], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(f"{base}{path}", json=body, headers=headers, timeout=120)
    assert response.status_code == 201, response.text
    return response.json()


def _orders(running: Cluster) -> int:
    ((count,),) = running.query("SELECT count(*) FROM orders")
    return int(count)


def _signup(base: str, email: str) -> str:
    token: str = _post(base, "/api/users/signup", {"email": email, "password": "long enough"})[
        "token"
    ]
    return token


def test_a_buyer_answered_by_a_server_sees_the_ticket_reserved_at_once(
    cluster: Cluster,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    home = tmp_path / "server" / "home"
    home.parent.mkdir()
    env = {k: v for k, v in cluster.env.items() if k != "OPENTICKET_DB"}
    with running_server(
        cluster.db_url,
        home,
        args=("--domains", "auth"),  # the other domains are the workers'
        OPENTICKET_SIGNUPS_PER_MINUTE="100",
        **env,
    ) as base:
        seller = _signup(base, "seller@example.com")
        tickets = [  # each answered once the orders domain knows the listing
            _post(base, "/api/tickets", {"title": f"Seat {n}", "price": "10.00"}, seller)["id"]
            for n in range(BUYERS)
        ]
        buyers = [_signup(base, f"buyer{n}@example.com") for n in range(BUYERS)]
        seen: dict[str, tuple[str, Any]] = {}
        together = threading.Barrier(BUYERS)

        def reserve(n: int) -> None:
            together.wait(timeout=120)  # at once: the server writes them in batches
            order = _post(base, "/api/orders", {"ticket_id": tickets[n]}, buyers[n])
            shown = httpx.get(f"{base}/api/tickets/{tickets[n]}", timeout=120).json()
            seen[tickets[n]] = (order["status"], shown["status"])

        threads = [threading.Thread(target=reserve, args=(n,)) for n in range(BUYERS)]
        tickets_worker = cluster.workers["tickets"]
        tickets_worker.send_signal(signal.SIGSTOP)  # the reservations cannot settle meanwhile
        try:
            for thread in threads:
                thread.start()
            eventually(lambda: _orders(cluster) == BUYERS, what="every reservation written")
            answered_before_they_settled = dict(seen)
        finally:
            tickets_worker.send_signal(signal.SIGCONT)
        for thread in threads:
            thread.join(timeout=300)

    assert answered_before_they_settled == {}
    assert seen == {ticket: ("created", "reserved") for ticket in tickets}
