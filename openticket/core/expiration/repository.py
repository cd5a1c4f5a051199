from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select

from openticket.core.expiration.tables import schedule
from openticket.core.ports import Transaction
from openticket.store.bulk import insert_new_many
from openticket.store.insert_new import insert_new
from openticket.store.uow import connection

_DELETE = delete(schedule).where(schedule.c.order_id == bindparam("order_id"))


def add(tx: Transaction, order_id: str, expires_at: datetime) -> bool:
    """False when the order is scheduled already (a redelivered event)."""
    conn = connection(tx)
    return insert_new(conn, schedule, {"order_id": order_id, "expires_at": expires_at})


def add_many(tx: Transaction, new: list[tuple[str, datetime]]) -> set[str]:
    """`add` for many (order id, end); the orders that were not scheduled yet."""
    conn = connection(tx)
    return insert_new_many(conn, schedule, ("order_id", "expires_at"), new)


def remove(tx: Transaction, order_id: str) -> bool:
    conn = connection(tx)
    return conn.execute(_DELETE, {"order_id": order_id}).rowcount > 0


def all_pending(tx: Transaction) -> list[tuple[str, datetime]]:
    conn = connection(tx)
    rows = conn.execute(select(schedule).order_by(schedule.c.expires_at))
    return [(row.order_id, row.expires_at) for row in rows]


def due(tx: Transaction, until: datetime, limit: int) -> list[str]:
    """Orders whose window ends at or before `until`, earliest first."""
    conn = connection(tx)
    query = (
        select(schedule.c.order_id)
        .where(schedule.c.expires_at <= until)
        .order_by(schedule.c.expires_at)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
