"""Many processes race for one ticket on one SQLite file: the database lets exactly one win."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tests.conftest import User, signed_up

RACERS = 16


def test_sixteen_processes_reserve_one_ticket(people: Callable[..., User]) -> None:
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    ticket = seller.ok("tickets", "create", "--title", "Last seat", "--price", "30")
    racers = [people(f"racer{n}") for n in range(RACERS)]
    for n, racer in enumerate(racers):
        signed_up(racer, f"racer{n}@example.com")

    procs = [racer.popen("orders", "create", ticket["id"], "--json") for racer in racers]
    results = [(proc.wait(timeout=120), *proc.communicate()) for proc in procs]

    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [5] * (RACERS - 1), results
    for _, _, stderr in results:
        assert "database is locked" not in stderr
        assert "Traceback" not in stderr
    with sqlite3.connect(seller.db_path) as conn:
        (orders,) = conn.execute("SELECT count(*) FROM orders").fetchone()
        (locks,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE subject='order:created'"
        ).fetchone()
    assert orders == 1 and locks == 1
    winner = next(out for code, out, _ in results if code == 0)
    assert seller.ok("tickets", "show", ticket["id"])["order_id"] in winner
