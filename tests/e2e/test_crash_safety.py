"""A process SIGKILLed between committing an order and delivering its events: the next command
delivers them, once."""

from __future__ import annotations

import math
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import User, signed_up

# Runs `orders create` through the real LocalApi, and dies at the chosen point.
CRASHING_RESERVE = """
import os, signal, sys
from openticket.credentials import CredentialStore, target_key
from openticket.config import Settings
from openticket.bootstrap import bootstrap
from openticket.core.orders import service as orders
from openticket.core.tickets import handlers as ticket_handlers

def die():
    os.kill(os.getpid(), signal.SIGKILL)

settings = Settings.from_env()
token = CredentialStore(settings.home).token(target_key(settings.db_url))
if sys.argv[2] == "after-commit":
    real = orders.reserve
    def reserve_then_die(tx, *args, **kwargs):
        order = real(tx, *args, **kwargs)
        tx.after_commit(die)  # runs right after the order's commit, before any delivery
        return order
    orders.reserve = reserve_then_die
else:  # during delivery, after the tickets consumer applied the lock inside the pass
    real_handler = ticket_handlers.on_order_created
    def lock_then_die(envelope, tx):
        real_handler(envelope, tx)
        die()
    ticket_handlers.HANDLERS["order:created"] = lock_then_die
api = bootstrap(settings)
api.create_order(token, sys.argv[1])
print("not killed")
"""


def _rows(db: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


@pytest.mark.parametrize("crash_point", ["after-commit", "during-delivery"])
def test_killed_process_events_are_delivered_by_the_next_command(
    people: Callable[..., User], crash_point: str
) -> None:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Crash test", "--price", "20")

    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_RESERVE, ticket["id"], crash_point],
        env=buyer.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    db = buyer.db_path
    [(order_id,)] = _rows(db, "SELECT id FROM orders")
    assert _rows(db, "SELECT status FROM tickets") == [("available",)]
    assert _rows(db, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL") == [(1,)]
    assert _rows(db, "SELECT count(*) FROM apscheduler_jobs") == [(0,)]

    shown = seller.ok("tickets", "show", ticket["id"])  # any next command
    assert shown["status"] == "reserved" and shown["order_id"] == order_id
    assert shown["version"] == 1
    [(expires_at,)] = _rows(db, "SELECT expires_at FROM orders")
    due = math.ceil(datetime.fromisoformat(expires_at).replace(tzinfo=UTC).timestamp())
    assert _rows(db, "SELECT id FROM apscheduler_jobs") == [(f"expire-due:{due}",)]
    assert _rows(db, "SELECT order_id FROM expiration_schedule") == [(order_id,)]
    assert _rows(db, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL") == [(0,)]

    seller.ok("tickets", "list")
    buyer.ok("orders", "list")
    # Each consumer applied each event exactly once: one lock, one replica, one timer.
    duplicates = _rows(
        db,
        "SELECT consumer, event_id FROM processed_events GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert duplicates == []
    assert _rows(db, "SELECT count(*) FROM outbox WHERE subject = 'ticket:updated'") == [(1,)]
    assert _rows(db, "SELECT count(*) FROM payments_orders") == [(1,)]
    assert seller.ok("tickets", "show", ticket["id"])["version"] == 1
    assert buyer.ok("pay", order_id)["status"] == "succeeded"
