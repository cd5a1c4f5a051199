"""`openticket worker` on the embedded default: it delivers what a dead process left
undelivered, and refuses a subset of domains without a shared bus."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tests.conftest import PATIENCE_SECONDS, User, eventually, signed_up


def test_worker_delivers_what_a_dead_process_left(people: Callable[..., User]) -> None:
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Gig", "--price", "20")
    worker = seller.popen("worker")
    try:
        assert worker.stderr is not None
        assert "openticket worker for" in worker.stderr.readline()  # it is up
        with sqlite3.connect(seller.db_path) as conn:  # as if a process died after its commit
            conn.execute("DELETE FROM orders_tickets")
            conn.execute("UPDATE outbox SET delivered_at = NULL WHERE subject = 'ticket:created'")

        def delivered() -> list[tuple[str]]:
            with sqlite3.connect(seller.db_path) as conn:
                return conn.execute("SELECT id FROM orders_tickets").fetchall()

        assert eventually(delivered, what="the worker's delivery") == [(ticket["id"],)]
    finally:
        worker.terminate()
        assert worker.wait(timeout=PATIENCE_SECONDS) == 0


def test_worker_refuses_bad_domains(people: Callable[..., User]) -> None:
    person = people("operator")
    unknown = person.run("worker", "--domains", "tickets,bogus", "--json")
    assert unknown.code == 1
    assert unknown.error_json() == {
        "errors": [
            {
                "message": "Unknown domain bogus: use any of auth, tickets, orders, payments, "
                "expiration, notify",
                "field": "domains",
            }
        ]
    }
    subset = person.run("worker", "--domains", "tickets")
    assert subset.code == 1
    assert subset.stderr.strip() == (
        "Error: Hosting only some domains needs a shared bus: set OPENTICKET_BUS=nats://…"
    )
