"""Imports through LocalApi: large batches are delivered completely, once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from openticket.app.local import LocalApi
from openticket.core.tickets.model import ImportRow


def _rows(count: int) -> Iterator[ImportRow]:
    for i in range(count):
        yield ImportRow(line=i + 2, title=f"Seat {i}", price="12.50", external_id=f"e{i}")


def test_every_imported_event_is_delivered(api: LocalApi, db_url: str) -> None:
    seller = api.signup("seller@example.com", "long enough")
    report = api.import_tickets(seller.token, _rows(12_345))
    assert report.created == 12_345
    with sqlite3.connect(Path(db_url.removeprefix("sqlite:///"))) as conn:
        pending = conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
        replicas = conn.execute("SELECT count(*) FROM orders_tickets").fetchone()
        claims = conn.execute("SELECT count(*) FROM processed_events").fetchone()
    assert pending == (0,)
    assert replicas == (12_345,)
    assert claims == (0,)  # a clean pass needs no inbox rows (bus/memory.py)
    buyer = api.signup("buyer@example.com", "long enough")
    last = api.list_tickets(limit=1, search="Seat 12344")[0]
    assert api.create_order(buyer.token, last.id).status == "created"
