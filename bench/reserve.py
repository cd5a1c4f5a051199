"""Reservations per second through LocalApi on SQLite, next to a raw sqlite3 baseline.

    python bench/reserve.py [--count 2000] [--profile]

Both sides use a fresh SQLite file in WAL mode with synchronous=NORMAL and one transaction per
reservation. The baseline does only the core of a reservation (read the ticket, insert the
order under a partial unique index, mark the ticket); LocalApi does the whole thing: token
check, lazy-expiry check, the order and its outbox event, then delivery to the tickets,
payments and expiration consumers (ticket lock, replicas, inbox rows, the APScheduler job).
"""

from __future__ import annotations

import sys

# bench/http.py (named as its issue asks) shadows the standard library's `http` package for
# every script run from this folder: take the folder off the import path first.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import cProfile
import pstats
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from openticket.bootstrap import Overrides, bootstrap
from openticket.config import Settings
from openticket.core.auth.passwords import Argon2Hasher


def raw_baseline(path: Path, count: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(
        """
        CREATE TABLE tickets (id TEXT PRIMARY KEY, title TEXT, price_minor INTEGER,
            currency TEXT, owner_id TEXT, version INTEGER, status TEXT, order_id TEXT);
        CREATE TABLE orders (id TEXT PRIMARY KEY, user_id TEXT, ticket_id TEXT,
            ticket_title TEXT, price_minor INTEGER, currency TEXT, status TEXT,
            expires_at TEXT, version INTEGER, created_at TEXT);
        CREATE UNIQUE INDEX uq_orders_live_ticket ON orders (ticket_id)
            WHERE status IN ('created', 'awaiting:payment', 'complete');
        """
    )
    ids = [uuid.uuid4().hex for _ in range(count)]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO tickets VALUES (?, 'Seat', 1500, 'USD', 'seller', 0, 'available', NULL)",
        [(i,) for i in ids],
    )
    conn.execute("COMMIT")
    started = time.perf_counter()
    for ticket_id in ids:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "SELECT title, price_minor, currency, version FROM tickets WHERE id = ?", (ticket_id,)
        ).fetchone()
        order_id = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO orders VALUES (?, 'buyer', ?, ?, ?, ?, 'created', "
            "datetime('now', '+15 minutes'), 0, datetime('now'))",
            (order_id, ticket_id, row[0], row[1], row[2]),
        )
        conn.execute(
            "UPDATE tickets SET order_id = ?, status = 'reserved', version = version + 1 "
            "WHERE id = ? AND version = ?",
            (order_id, ticket_id, row[3]),
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def through_local_api(home: Path, count: int, profile: bool) -> float:
    settings = Settings(home=home, db_url=f"sqlite:///{home / 'bench.db'}")
    api = bootstrap(settings, Overrides(hasher=Argon2Hasher.cheap()))
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket_ids = [api.create_ticket(seller.token, "Seat", "15.00").id for _ in range(count)]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for ticket_id in ticket_ids:
        api.create_order(buyer.token, ticket_id)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    api.close()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print where LocalApi's time goes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = raw_baseline(Path(tmp) / "raw.db", args.count)
        ours = through_local_api(Path(tmp), args.count, args.profile)
    print(f"raw sqlite3 baseline : {baseline:10.0f} reservations/s")
    print(f"LocalApi (SQLite)    : {ours:10.0f} reservations/s")
    print(f"ratio                : {ours / baseline:10.3f}  (goal 0.2)")


if __name__ == "__main__":
    main()
