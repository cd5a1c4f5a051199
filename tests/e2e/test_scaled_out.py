"""Scaled out on real PostgreSQL and real NATS JetStream: one `openticket worker` process per
domain, the CLI on the same database and stream. Replicas follow asynchronously, so the tests
wait for what a user would see (bounded polls)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import (
    NATS_URL,
    SCALED_OUT_DOMAINS,
    User,
    eventually,
    free_port,
    nats_stream,
    postgres_database,
    service_missing,
    signed_up,
    start_worker,
    stop_workers,
)

EVENTS = "SELECT subject, count(*) FROM outbox GROUP BY subject"
ONE_SALE = {
    "ticket:created": 1,
    "order:created": 1,
    "ticket:updated": 2,
    "payment:started": 1,
    "payment:created": 1,
    "order:completed": 1,
    "ticket:transferred": 1,  # the buyer holds it
    "payout:updated": 1,  # the seller is owed its price, held
}


class Cluster:
    """A PostgreSQL database, a JetStream stream and a worker process per domain."""

    def __init__(self, db_url: str, stream: str, tmp_path: Path, nats_url: str = NATS_URL) -> None:
        self.db_url = db_url
        self.env = {
            "OPENTICKET_DB": db_url,
            "OPENTICKET_BUS": nats_url,
            "OPENTICKET_NATS_STREAM": stream,
        }
        self.tmp_path = tmp_path
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, domain: str) -> None:
        self.workers[domain] = start_worker(self.env, self.tmp_path, domain)

    def kill(self, domain: str) -> None:
        worker = self.workers.pop(domain)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)

    def stop_all(self) -> None:
        stop_workers(self.workers.values())

    def person(self, name: str) -> User:
        return User(home=self.tmp_path / "homes" / name, db_path=Path("-"), extra_env=self.env)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        url = make_url(self.db_url)
        dsn = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"
        with psycopg.connect(dsn) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with nats_stream() as stream, postgres_database() as db_url:
        running = Cluster(db_url, stream, tmp_path)
        try:
            for domain in SCALED_OUT_DOMAINS:
                running.start(domain)
            yield running
        finally:
            running.stop_all()


def _status(person: User, ticket_id: str) -> str:
    return str(person.ok("tickets", "show", ticket_id)["status"])


def _pay_when_known(buyer: User, order_id: str) -> dict[str, Any]:
    """Pay as soon as the payments domain has seen the order."""

    def attempt() -> dict[str, Any] | None:
        result = buyer.run("pay", order_id, "--card", "tok_visa", "--json")
        if result.code == 4:  # payments has not seen the order yet
            return None
        assert result.code == 0, result.stderr
        answer: dict[str, Any] = result.json()
        return answer

    paid: dict[str, Any] = eventually(attempt)
    return paid


def test_journey_with_a_process_per_domain(cluster: Cluster) -> None:
    seller, buyer = cluster.person("seller"), cluster.person("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Jazz night", "--price", "12.50")

    order = eventually(lambda: _order_when_listed(buyer, ticket["id"]))
    eventually(lambda: _status(buyer, ticket["id"]) == "reserved")
    payment = _pay_when_known(buyer, order["id"])
    assert payment["status"] == "succeeded"
    eventually(lambda: _status(buyer, ticket["id"]) == "sold")
    eventually(lambda: buyer.ok("orders", "show", order["id"])["status"] == "complete")
    assert [o["id"] for o in buyer.ok("orders", "list")] == [order["id"]]
    # Each event was applied once: an event applied twice would have changed the ticket (and
    # announced it) twice.
    assert buyer.ok("tickets", "show", ticket["id"])["version"] == 2
    assert dict(cluster.query(EVENTS)) == ONE_SALE


def _order_when_listed(buyer: User, ticket_id: str) -> dict[str, Any] | None:
    result = buyer.run("orders", "create", ticket_id, "--json")
    if result.code == 4:  # orders has not seen the ticket yet
        return None
    assert result.code == 0, result.stderr
    answer: dict[str, Any] = result.json()
    return answer


def test_killed_payments_process_misses_nothing(cluster: Cluster) -> None:
    seller, buyer = cluster.person("seller"), cluster.person("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    cluster.kill("payments")

    ticket = seller.ok("tickets", "create", "--title", "Gig", "--price", "30")
    assert [t["id"] for t in buyer.ok("tickets", "list")] == [ticket["id"]]
    order = eventually(lambda: _order_when_listed(buyer, ticket["id"]))
    eventually(lambda: _status(buyer, ticket["id"]) == "reserved")  # without payments
    assert cluster.query("SELECT count(*) FROM payments_orders") == [(0,)]

    cluster.start("payments")  # it catches up on what it missed
    assert _pay_when_known(buyer, order["id"])["status"] == "succeeded"
    eventually(lambda: _status(buyer, ticket["id"]) == "sold")
    assert cluster.query("SELECT count(*) FROM payments_orders") == [(1,)]
    assert cluster.query("SELECT count(*) FROM payments") == [(1,)]
    assert dict(cluster.query(EVENTS)) == ONE_SALE


def test_killed_orders_process_mid_stream_misses_nothing(cluster: Cluster) -> None:
    seller = cluster.person("seller")
    signed_up(seller, "seller@example.com")
    source = cluster.tmp_path / "many.csv"
    source.write_text(
        "title,price\n" + "".join(f"Seat {n},{10 + n}\n" for n in range(300)), encoding="utf-8"
    )
    importing = seller.popen("tickets", "import", str(source), "--json")
    time.sleep(0.3)
    cluster.kill("orders")  # while the listings stream in
    assert importing.wait(timeout=120) == 0
    cluster.start("orders")

    eventually(lambda: cluster.query("SELECT count(*) FROM orders_tickets") == [(300,)])
    assert (
        cluster.query(
            "SELECT count(*) FROM processed_events WHERE consumer = 'orders'"
            " GROUP BY event_id HAVING count(*) > 1"
        )
        == []
    )


def test_a_command_while_nats_is_down_succeeds_and_its_events_follow(cluster: Cluster) -> None:
    seller = cluster.person("seller")
    signed_up(seller, "seller@example.com")
    seller.extra_env = cluster.env | {"OPENTICKET_BUS": f"nats://127.0.0.1:{free_port()}"}
    result = seller.run("tickets", "create", "--title", "Offline", "--price", "15", "--json")
    assert result.code == 0 and result.json()["title"] == "Offline"
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "openticket: events not published yet (NATS: NoServersError)"
    ]
    # A worker publishes what the command could not; the orders domain then knows the ticket.
    eventually(lambda: cluster.query("SELECT count(*) FROM orders_tickets") == [(1,)])


class PrivateNats:
    """A nats-server of this test's own (JetStream, file storage), so it can be restarted
    without disturbing anything else on the machine."""

    def __init__(self, tmp_path: Path) -> None:
        import shutil

        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            service_missing("nats-server is not installed")
        self.binary, self.port = binary, free_port()
        self.store = tmp_path / "nats-store"
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import socket

        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        eventually(listening)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None


def test_restarting_nats_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    server = PrivateNats(tmp_path)
    server.start()
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)  # last, after the stream is deleted
        stream = stack.enter_context(nats_stream(server.url))
        db_url = stack.enter_context(postgres_database())
        cluster = Cluster(db_url, stream, tmp_path, server.url)
        try:
            for domain in SCALED_OUT_DOMAINS:
                cluster.start(domain)
            seller, buyer = cluster.person("seller"), cluster.person("buyer")
            signed_up(seller, "seller@example.com")
            signed_up(buyer, "buyer@example.com")
            seller.ok("tickets", "create", "--title", "Before", "--price", "20")
            eventually(lambda: cluster.query("SELECT count(*) FROM orders_tickets") == [(1,)])

            server.stop()
            during = seller.ok("tickets", "create", "--title", "During", "--price", "25")
            server.start()  # same store: the stream and the consumers' positions survive

            eventually(lambda: cluster.query("SELECT count(*) FROM orders_tickets") == [(2,)])
            order = eventually(lambda: _order_when_listed(buyer, during["id"]))
            eventually(lambda: _status(buyer, during["id"]) == "reserved")
            assert order["ticket"]["title"] == "During"
            assert buyer.ok("tickets", "show", during["id"])["version"] == 1
            assert dict(cluster.query(EVENTS)) == {
                "ticket:created": 2,
                "order:created": 1,
                "ticket:updated": 1,
            }
        finally:
            cluster.stop_all()


def _replica_on_sale(cluster: Cluster, ticket_id: str, round_: int) -> bool:
    """Whether the orders domain has seen the ticket listed in this round."""
    rows = cluster.query(f"SELECT round, on_sale FROM orders_tickets WHERE id = '{ticket_id}'")
    return rows == [(round_, True)]


def test_an_order_paid_for_a_listing_that_moved_on_is_refunded(cluster: Cluster) -> None:
    """With the tickets process down, a buyer reserves and pays for a resale; meanwhile its
    holder takes it off sale, gives it away, and the friend lists it again. When the tickets
    process comes back it refuses the paid order (its listing is gone): the order ends
    refunded, its charge is given back, and the friend's listing sells to someone else."""
    issuer, holder, buyer, friend, other = (
        cluster.person(name) for name in ("issuer", "holder", "buyer", "friend", "other")
    )
    for name, person in (
        ("issuer", issuer),
        ("holder", holder),
        ("buyer", buyer),
        ("friend", friend),
        ("other", other),
    ):
        signed_up(person, f"{name}@example.com")
    ticket = issuer.ok("tickets", "create", "--title", "Gig", "--price", "20.00")
    first = eventually(lambda: _order_when_listed(holder, ticket["id"]))
    _pay_when_known(holder, first["id"])
    eventually(lambda: holder.ok("wallet"), what="the ticket in the holder's wallet")
    relisted = holder.ok("tickets", "resell", ticket["id"], "--price", "22.00")
    round_ = int(cluster.query(f"SELECT round FROM tickets WHERE id = '{ticket['id']}'")[0][0])
    eventually(lambda: _replica_on_sale(cluster, ticket["id"], round_))
    assert relisted["status"] == "available"

    cluster.kill("tickets")
    stale = buyer.ok("orders", "create", ticket["id"])
    assert _pay_when_known(buyer, stale["id"])["status"] == "succeeded"
    eventually(lambda: buyer.ok("orders", "show", stale["id"])["status"] == "complete")
    holder.ok("tickets", "resell", "--cancel", ticket["id"])
    holder.ok("wallet", "transfer", ticket["id"], "--to", "friend@example.com")
    friend.ok("tickets", "resell", ticket["id"], "--price", "20.00")
    eventually(lambda: _replica_on_sale(cluster, ticket["id"], round_ + 1))
    fresh = other.ok("orders", "create", ticket["id"])  # the friend's listing: a new round

    cluster.start("tickets")
    eventually(lambda: buyer.ok("orders", "show", stale["id"])["status"] == "refunded")
    eventually(
        lambda: (
            cluster.query(f"SELECT status FROM payments WHERE order_id = '{stale['id']}'")
            == [("refunded",)]
        ),
        what="the refused order's charge refunded",
    )
    assert buyer.ok("wallet") == []
    eventually(lambda: _status(other, ticket["id"]) == "reserved")
    _pay_when_known(other, fresh["id"])
    eventually(lambda: other.ok("wallet"), what="the ticket in the last buyer's wallet")
    [entry] = other.ok("wallet")
    assert (entry["ticket"]["id"], entry["paid"]) == (ticket["id"], "20.00")
    assert other.ok("verify", entry["code"])["status"] == "valid"
    assert friend.ok("wallet") == [] and holder.ok("wallet") == []
    live = cluster.query(
        "SELECT count(*) FROM orders WHERE status IN ('created', 'awaiting:payment', 'complete')"
        f" AND ticket_id = '{ticket['id']}'"
    )
    assert live == [(2,)]  # the holder's first purchase and the last one


async def _consumer_filter(stream: str, durable: str, make_with: str | None = None) -> str:
    """The durable consumer's filter (made first with `make_with`, as an earlier version of
    openticket made it, when given)."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

    connection = await nats.connect(NATS_URL)
    try:
        js = connection.jetstream()
        if make_with is not None:
            await js.add_stream(StreamConfig(name=stream, subjects=[f"{stream}.>"]))
            config = ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                filter_subject=make_with,
            )
            await js.add_consumer(stream, config)
        info = await js.consumer_info(stream, durable)
        return str(info.config.filter_subject)
    finally:
        await connection.close()


def test_a_consumer_an_earlier_version_made_for_fewer_subjects_gets_this_version_s(
    tmp_path: Path,
) -> None:
    """The payments consumer of earlier versions took only order events; payments now reacts
    to check-ins too (a checked-in ticket releases its payout), so its filter must widen."""
    import asyncio

    with nats_stream() as stream, postgres_database() as db_url:
        durable = f"{stream}-payments"
        old = asyncio.run(_consumer_filter(stream, durable, make_with=f"{stream}.order.>"))
        assert old == f"{stream}.order.>"
        cluster = Cluster(db_url, stream, tmp_path)
        try:
            cluster.start("payments")
            eventually(
                lambda: asyncio.run(_consumer_filter(stream, durable)) == f"{stream}.>",
                what="the payments consumer's filter widened",
            )
        finally:
            cluster.stop_all()
