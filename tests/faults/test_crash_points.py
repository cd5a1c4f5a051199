"""The fault suite: a real `openticket serve` is SIGKILLed (OPENTICKET_FAULT) at each step of
reserving, paying (before and after the payment provider answered), cancelling, expiring and
importing, on SQLite and on PostgreSQL. After a restart (nothing else: no operator command),
the marketplace's invariants hold:

- no ticket has two live orders, and every ticket's state agrees with its orders;
- no order is cancelled while its charge is kept;
- no succeeded charge lacks a complete order, unless it was refunded;
- every event was delivered, and applied exactly once (replicas at the right versions);
- no payment attempt is left pending past its grace, and no refund is left owed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from openticket.bootstrap import Overrides, bootstrap
from openticket.config import Settings
from openticket.core.auth.passwords import Argon2Hasher
from openticket.credentials import CredentialStore, target_key
from tests.conftest import (
    OPENTICKET,
    PATIENCE_SECONDS,
    User,
    eventually,
    free_port,
    postgres_database,
)

PASSWORD = "long enough"
GRACE = "1"  # seconds before an abandoned payment attempt is driven again


@dataclass
class Scene:
    """One marketplace (a SQLite file or a PostgreSQL database) and its serving process."""

    db_url: str
    tmp: Path
    port: int = field(default_factory=free_port)
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def setup(self, ttl: int = 900) -> None:
        """A seller's listing and a signed-up buyer, made in this process."""
        settings = Settings(home=self.tmp / "setup", db_url=self.db_url, order_ttl_setting=str(ttl))
        api = bootstrap(settings, Overrides(hasher=Argon2Hasher.cheap()))
        try:
            for who in ("seller", "buyer"):
                self.tokens[who] = api.signup(f"{who}@example.com", PASSWORD).token
            self.ids["ticket"] = api.create_ticket(self.tokens["seller"], "Opera", "25").id
        finally:
            api.close()

    def reserve_here(self, ttl: int) -> None:
        settings = Settings(home=self.tmp / "setup", db_url=self.db_url, order_ttl_setting=str(ttl))
        api = bootstrap(settings, Overrides(hasher=Argon2Hasher.cheap()))
        try:
            order = api.create_order(self.tokens["buyer"], self.ids["ticket"])
            self.ids["order"] = order.id
            self.ids["expires_at"] = order.expires_at
        finally:
            api.close()

    def start(self, fault: str | None = None) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTICKET_")}
        home = self.tmp / "server-home"
        home.mkdir(exist_ok=True)
        env.update(
            OPENTICKET_HOME=str(home),
            OPENTICKET_DB=self.db_url,
            OPENTICKET_PAYMENT_GRACE=GRACE,
        )
        if fault is not None:
            env["OPENTICKET_FAULT"] = f"{fault}=kill"
        log = open(self.tmp / "serve.log", "ab")  # noqa: SIM115 - the process owns it
        return subprocess.Popen(
            [*OPENTICKET, "serve", "--port", str(self.port)], env=env, stdout=log, stderr=log
        )

    def healthy(self, server: subprocess.Popen[bytes], *, may_die: bool = False) -> bool:
        """Wait until the server answers (True), or, if `may_die`, has died (False)."""

        def settled() -> bool:
            if server.poll() is not None:
                assert may_die, (self.tmp / "serve.log").read_text()
                return True
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as answer:
                    return answer.status == 200
            except OSError:
                return False

        eventually(settled, what="the server to answer")
        return server.poll() is None

    @contextlib.contextmanager
    def serving(self) -> Iterator[httpx.Client]:
        server = self.start()
        try:
            self.healthy(server)
            with httpx.Client(base_url=self.url, timeout=PATIENCE_SECONDS) as http:
                yield http
        finally:
            server.terminate()
            server.wait(PATIENCE_SECONDS)

    def call(self, who: str, method: str, path: str, **request: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} | request.pop("headers", {})
        with httpx.Client(base_url=self.url, timeout=PATIENCE_SECONDS) as http:
            return http.request(method, path, headers=headers, **request)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.db_url.startswith("sqlite"):
            with sqlite3.connect(self.db_url.removeprefix("sqlite:///")) as conn:
                return conn.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(self.db_url.replace("postgresql+psycopg", "postgresql")) as conn:
            return conn.execute(sql).fetchall()


def killed_at(scene: Scene, fault: str, step: Callable[[], object]) -> None:
    """Serve with `fault` armed, take `step` (which may see the server vanish), and insist the
    server died there, by SIGKILL."""
    server = scene.start(fault)
    try:
        if scene.healthy(server, may_die=True):  # (it may die on its own, as it starts)
            with contextlib.suppress(httpx.TransportError):
                step()
        assert server.wait(PATIENCE_SECONDS) == -signal.SIGKILL, fault
    finally:
        if server.poll() is None:
            server.kill()


def violations(scene: Scene) -> list[str]:
    found: list[str] = []

    def check(what: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            found.append(f"{what}: {rows}")

    check(
        "tickets with two live orders",
        scene.query(
            "SELECT ticket_id FROM orders WHERE status IN ('created', 'awaiting:payment', "
            "'complete') GROUP BY ticket_id, ticket_round HAVING count(*) > 1"
        ),
    )
    check(
        "cancelled or expired orders whose charge is kept",
        scene.query(
            "SELECT o.id FROM orders o JOIN payments p ON p.order_id = o.id "
            "WHERE o.status IN ('cancelled', 'expired') AND p.status = 'succeeded'"
        ),
    )
    check(
        "charges without a complete order, not refunded",
        scene.query(
            "SELECT c.id FROM payments_local_charges c "
            "LEFT JOIN payments p ON p.idempotency_key = c.idempotency_key "
            "LEFT JOIN orders o ON o.id = p.order_id "
            "WHERE c.status = 'succeeded' AND c.refund_id IS NULL "
            "AND (o.status IS NULL OR o.status <> 'complete')"
        ),
    )
    check("undelivered events", scene.query("SELECT seq FROM outbox WHERE delivered_at IS NULL"))
    check(
        "payments left pending or owing a refund",
        scene.query(
            "SELECT id, status FROM payments WHERE status IN ('pending', 'refund_pending')"
        ),
    )
    found += _replica_problems(scene)
    return found


def _replica_problems(scene: Scene) -> list[str]:
    """Each event applied once: every replica at its aggregate's version and state."""
    problems = []
    updates = Counter(
        _ticket_of(data)
        for (data,) in scene.query("SELECT data FROM outbox WHERE subject = 'ticket:updated'")
    )
    orders = {
        row[0]: row[1:]
        for row in scene.query("SELECT id, ticket_id, status, ticket_round FROM orders")
    }
    replica = dict(scene.query("SELECT id, version FROM orders_tickets"))
    for ticket_id, version, status, order_id, round_ in scene.query(
        "SELECT id, version, status, order_id, round FROM tickets"
    ):
        if replica.get(ticket_id) != version or updates[ticket_id] != version:
            problems.append(
                f"ticket {ticket_id} v{version}: replica {replica.get(ticket_id)}, "
                f"{updates[ticket_id]} updates announced"
            )
        live = [  # of the ticket's current listing (a resale is a new round)
            (oid, st)
            for oid, (tid, st, r) in orders.items()
            if tid == ticket_id
            and r == round_
            and st in ("created", "awaiting:payment", "complete")
        ]
        expected = "available" if not live else "sold" if live[0][1] == "complete" else "reserved"
        if status != expected or (live and order_id != live[0][0]):
            problems.append(f"ticket {ticket_id} is {status}/{order_id}, its orders say {live}")
    # The payments domain's words for an order's status: an order that is charging is still
    # `created` to it, and an expired one is `cancelled` (with the reason "expired").
    seen_by_payments = {"awaiting:payment": "created", "expired": "cancelled"}
    for order_id, status in scene.query("SELECT id, status FROM payments_orders"):
        mine = orders[order_id][1]
        if status != seen_by_payments.get(mine, mine):
            problems.append(f"payments sees order {order_id} {status}, it is {mine}")
    return problems


def _ticket_of(data: Any) -> str:
    import json

    payload = json.loads(data) if isinstance(data, str) else data
    return str(payload["id"])


@pytest.fixture(params=["sqlite", "postgresql"])
def scene(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scene]:
    if request.param == "sqlite":
        yield Scene(f"sqlite:///{tmp_path / 'market.db'}", tmp_path)
        return
    with postgres_database() as url:
        yield Scene(url, tmp_path)


def recovered(scene: Scene) -> None:
    """Restart the server (nothing else) and wait until the invariants hold."""
    with scene.serving():
        eventually(lambda: not violations(scene), what="the invariants after the restart")
    assert violations(scene) == []


def _order_status(scene: Scene) -> str:
    return str(scene.query(f"SELECT status FROM orders WHERE id = '{scene.ids['order']}'")[0][0])


@pytest.mark.parametrize("point", ["reserve:committed", "delivery:mid-pass"])
def test_reserve(scene: Scene, point: str) -> None:
    scene.setup()
    killed_at(
        scene,
        point,
        lambda: scene.call("buyer", "POST", "/api/orders", json={"ticket_id": scene.ids["ticket"]}),
    )
    recovered(scene)
    # Committed before the crash, the reservation stands (the crash undid only a delivery).
    assert scene.query("SELECT status FROM orders") == [("created",)]
    assert scene.query("SELECT status FROM tickets") == [("reserved",)]


@pytest.mark.parametrize("point", ["pay:attempt-recorded", "pay:charged", "pay:recorded"])
def test_pay(scene: Scene, point: str) -> None:
    scene.setup()
    scene.reserve_here(ttl=900)
    body = {"order_id": scene.ids["order"], "token": "tok_visa"}
    killed_at(scene, point, lambda: scene.call("buyer", "POST", "/api/payments", json=body))
    assert _order_status(scene) in ("awaiting:payment", "complete")  # it waits for the outcome
    recovered(scene)
    assert _order_status(scene) == "complete"  # the charge went through once, and counts
    assert scene.query("SELECT count(*) FROM payments_local_charges") == [(1,)]
    assert scene.query("SELECT status FROM tickets") == [("sold",)]


def test_cancel(scene: Scene) -> None:
    scene.setup()
    scene.reserve_here(ttl=900)
    killed_at(
        scene,
        "cancel:committed",
        lambda: scene.call("buyer", "DELETE", f"/api/orders/{scene.ids['order']}"),
    )
    recovered(scene)
    assert _order_status(scene) == "cancelled"
    assert scene.query("SELECT status FROM tickets") == [("available",)]


def test_expiry(scene: Scene) -> None:
    scene.setup()
    scene.reserve_here(ttl=1)
    expires_at = scene.ids["expires_at"]
    from datetime import UTC, datetime

    ends = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    eventually(lambda: datetime.now(UTC) > ends, what="the order's window to end")
    killed_at(scene, "expiry:committed", lambda: None)  # the server expires it by itself
    recovered(scene)
    assert _order_status(scene) == "expired"
    assert scene.query("SELECT status FROM tickets") == [("available",)]


@pytest.mark.parametrize("point", ["import:batch-written", "import:committed"])
def test_import(scene: Scene, point: str) -> None:
    scene.setup()
    rows = "".join(f'{{"line": {n}, "title": "Seat {n}", "price": "5"}}\n' for n in range(2, 52))
    killed_at(
        scene,
        point,
        lambda: scene.call(
            "seller",
            "POST",
            "/api/tickets/import",
            content=rows.encode(),
            headers={"Content-Type": "application/x-ndjson"},
        ),
    )
    recovered(scene)
    imported = scene.query("SELECT count(*) FROM tickets WHERE title LIKE 'Seat %'")
    assert imported == ([(0,)] if point == "import:batch-written" else [(50,)])  # all or nothing


def test_the_paying_command_killed_after_the_charge(tmp_path: Path) -> None:
    """Embedded: the `openticket pay` process itself dies after the provider answered; the
    next command (no serve, no worker) records the charge and completes the order."""
    scene = Scene(f"sqlite:///{tmp_path / 'market.db'}", tmp_path)
    scene.setup()
    scene.reserve_here(ttl=900)
    buyer = User(tmp_path / "buyer", tmp_path / "market.db", {"OPENTICKET_PAYMENT_GRACE": GRACE})
    CredentialStore(buyer.home).save(
        target_key(scene.db_url), scene.tokens["buyer"], {"email": "buyer@example.com"}
    )
    crashed = buyer.run("pay", scene.ids["order"], env={"OPENTICKET_FAULT": "pay:charged=kill"})
    assert crashed.code == -signal.SIGKILL
    assert scene.query("SELECT status FROM payments") == [("pending",)]
    eventually(
        lambda: buyer.ok("orders", "show", scene.ids["order"])["status"] == "complete",
        what="the next command to record the charge",
    )
    assert violations(scene) == []
    assert scene.query("SELECT count(*) FROM payments_local_charges") == [(1,)]
