"""The CLI's quick path: `tickets list` on the embedded SQLite store, answered with the standard
library alone when nothing is due, for a fraction of the whole stack's start-up (bench/cli.py).
Anywhere else (a server, PostgreSQL, a broker), or when a command would first catch up (an
order past its window, an undelivered event…), None: the caller takes the whole way, which
catches up and answers the same (tests/integration/test_quick_reads.py holds them equal)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openticket.config import Settings
from openticket.core.auth.model import User
from openticket.core.money import Money
from openticket.core.tickets.query import TicketQuery
from openticket.store.quick_reads import QuickReads

SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")


def ticket_listing(
    settings: Settings, query: TicketQuery, now: datetime | None = None
) -> list[dict[str, Any]] | None:
    """The page of tickets `query` asks for, in the Api's JSON shape; None: ask the Api."""
    path = _sqlite_file(settings)
    if path is None:
        return None
    query.check()
    with QuickReads.opened(path) as reads:
        provider = "stripe" if settings.stripe is not None else "local"
        if reads is None or reads.anything_due(now or datetime.now(UTC), provider):
            return None
        rows = reads.ticket_rows(query)
        users = reads.user_rows([row["owner_id"] for row in rows])
    sellers = {user["id"]: User(*user).shown_name for user in users}
    return [
        {
            "id": row["id"],
            "title": row["title"],
            "price": Money(row["price_minor"], row["currency"]).format(),
            "currency": row["currency"],
            "owner_id": row["owner_id"],
            "version": row["version"],
            "status": row["status"],
            "order_id": row["order_id"],
            "seller": sellers[row["owner_id"]],
            "resale": row["round"] > 0,
        }
        for row in rows
    ]


def _sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file of an embedded store with the in-process bus; None otherwise."""
    if settings.server or settings.bus_url:
        return None
    scheme, sep, rest = settings.db_url.partition("://")
    if not sep or scheme not in SQLITE_SCHEMES or "?" in rest or not rest.startswith("/"):
        return None
    path = rest[1:]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser()
