"""Reads of a SQLite store through the standard library alone (no SQLAlchemy, whose import
costs more than the query): what the CLI's quick path asks. The SQL is the store's own,
compiled ahead (quick_sql.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openticket.core.orders.model import PAYMENT_HOLD
from openticket.core.tickets.query import TicketQuery
from openticket.store import quick_sql
from openticket.store.revision import HEAD_REVISION


def _stored(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class QuickReads:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    @contextmanager
    def opened(cls, path: Path) -> Iterator[QuickReads | None]:
        """The store at `path`, or None where only the full path will do: no such file yet,
        or a schema of another revision (a migration is due)."""
        if not path.is_file():
            yield None
            return
        conn = sqlite3.connect(path, timeout=60)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("BEGIN")  # one snapshot for every read below
            try:
                revision = conn.execute(quick_sql.REVISION).fetchone()
            except sqlite3.OperationalError:  # no alembic_version: not migrated
                revision = None
            yield cls(conn) if revision is not None and revision[0] == HEAD_REVISION else None
        finally:
            conn.close()

    def anything_due(self, now: datetime, provider: str) -> bool:
        """Whether a command would first catch up (write): an order past its window, a
        payment a dead process left, an undelivered event, a refund to make."""
        values = {
            "now": _stored(now),
            "held_until": _stored(now - PAYMENT_HOLD),
            "provider": provider,
        }
        for sql, fixed in quick_sql.DUE.values():
            # sqlite3 takes from a mapping the names a statement has, and leaves the rest.
            if self._conn.execute(sql, fixed | values).fetchone() is not None:
                return True
        return False

    def ticket_rows(self, query: TicketQuery) -> list[sqlite3.Row]:
        key = f"{query.sort}{'/search' if query.pattern is not None else ''}"
        sql, roles = quick_sql.LISTINGS[key]
        values: dict[str, Any] = {
            "status": query.status,
            "pattern": query.pattern,
            "limit": query.limit,
            "offset": query.offset,
        }
        return self._conn.execute(
            sql, {name: values[role] for name, role in roles.items()}
        ).fetchall()

    def user_rows(self, user_ids: list[str]) -> list[sqlite3.Row]:
        ids = sorted(set(user_ids))
        if not ids:
            return []
        marks = ", ".join(f":id{n}" for n in range(len(ids)))
        sql = quick_sql.NAMES.replace("__[POSTCOMPILE_ids]", marks)
        return self._conn.execute(sql, {f"id{n}": i for n, i in enumerate(ids)}).fetchall()
