from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select

from openticket.core.expiration.tables import schedule
from openticket.store.bulk import insert_new_many
from openticket.store.insert_new import insert_new

_DELETE = delete(schedule).where(schedule.c.order_id == bindparam("order_id"))


def add(conn: Connection, order_id: str, expires_at: datetime) -> bool:
    """False when the order is scheduled already (a redelivered event)."""
    return insert_new(conn, schedule, {"order_id": order_id, "expires_at": expires_at})


def add_many(conn: Connection, new: list[tuple[str, datetime]]) -> set[str]:
    """`add` for many (order id, end); the orders that were not scheduled yet."""
    return insert_new_many(conn, schedule, ("order_id", "expires_at"), new)


def remove(conn: Connection, order_id: str) -> bool:
    return conn.execute(_DELETE, {"order_id": order_id}).rowcount > 0


def all_pending(conn: Connection) -> list[tuple[str, datetime]]:
    rows = conn.execute(select(schedule).order_by(schedule.c.expires_at))
    return [(row.order_id, row.expires_at) for row in rows]


def due(conn: Connection, until: datetime, limit: int) -> list[str]:
    """Orders whose window ends at or before `until`, earliest first."""
    query = (
        select(schedule.c.order_id)
        .where(schedule.c.expires_at <= until)
        .order_by(schedule.c.expires_at)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
