from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from openticket.core.errors import Conflict
from openticket.core.money import Money
from openticket.core.orders.model import LIVE_STATUSES, OPEN_STATUSES, Order, TicketReplica
from openticket.core.orders.tables import order_tickets, orders


def _order(row: Any) -> Order:
    return Order(
        id=row.id,
        user_id=row.user_id,
        ticket_id=row.ticket_id,
        ticket_title=row.ticket_title,
        price=Money(row.price_minor, row.currency),
        status=row.status,
        expires_at=row.expires_at,
        version=row.version,
    )


def add(conn: Connection, order: Order, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(orders).values(
                    id=order.id,
                    user_id=order.user_id,
                    ticket_id=order.ticket_id,
                    ticket_title=order.ticket_title,
                    price_minor=order.price.minor,
                    currency=order.price.currency,
                    status=order.status,
                    expires_at=order.expires_at,
                    version=order.version,
                    created_at=now,
                )
            )
    except IntegrityError:
        raise Conflict("Ticket is already reserved", "ticket_id") from None


def get(conn: Connection, order_id: str) -> Order | None:
    row = conn.execute(select(orders).where(orders.c.id == order_id)).first()
    return None if row is None else _order(row)


def save(conn: Connection, order: Order) -> None:
    result = conn.execute(
        update(orders)
        .where(orders.c.id == order.id, orders.c.version == order.version - 1)
        .values(status=order.status, version=order.version)
    )
    if result.rowcount != 1:
        raise RuntimeError(f"order {order.id} changed concurrently (stale version)")


def live_for_ticket(conn: Connection, ticket_id: str) -> Order | None:
    query = select(orders).where(
        orders.c.ticket_id == ticket_id, orders.c.status.in_(LIVE_STATUSES)
    )
    row = conn.execute(query).first()
    return None if row is None else _order(row)


def overdue(conn: Connection, now: datetime, limit: int = 500) -> list[Order]:
    query = (
        select(orders)
        .where(orders.c.status.in_(OPEN_STATUSES), orders.c.expires_at <= now)
        .order_by(orders.c.expires_at)
        .limit(limit)
    )
    return [_order(row) for row in conn.execute(query)]


def any_overdue(conn: Connection, now: datetime) -> bool:
    query = (
        select(orders.c.id)
        .where(orders.c.status.in_(OPEN_STATUSES), orders.c.expires_at <= now)
        .limit(1)
    )
    return conn.execute(query).first() is not None


def for_user(conn: Connection, user_id: str) -> list[Order]:
    query = (
        select(orders)
        .where(orders.c.user_id == user_id)
        .order_by(orders.c.created_at.desc(), orders.c.id)
    )
    return [_order(row) for row in conn.execute(query)]


def get_ticket(conn: Connection, ticket_id: str) -> TicketReplica | None:
    row = conn.execute(select(order_tickets).where(order_tickets.c.id == ticket_id)).first()
    if row is None:
        return None
    return TicketReplica(
        row.id, row.title, Money(row.price_minor, row.currency), row.owner_id, row.version
    )


def add_ticket(conn: Connection, ticket: TicketReplica) -> None:
    conn.execute(
        insert(order_tickets).values(
            id=ticket.id,
            title=ticket.title,
            price_minor=ticket.price.minor,
            currency=ticket.price.currency,
            owner_id=ticket.owner_id,
            version=ticket.version,
        )
    )


def known_ticket_ids(conn: Connection, ticket_ids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(ticket_ids), 500):
        query = select(order_tickets.c.id).where(
            order_tickets.c.id.in_(ticket_ids[start : start + 500])
        )
        known.update(conn.execute(query).scalars())
    return known


def add_tickets(conn: Connection, tickets: list[TicketReplica]) -> None:
    if tickets:
        conn.execute(
            insert(order_tickets),
            [
                {
                    "id": t.id,
                    "title": t.title,
                    "price_minor": t.price.minor,
                    "currency": t.price.currency,
                    "owner_id": t.owner_id,
                    "version": t.version,
                }
                for t in tickets
            ],
        )


def save_ticket(conn: Connection, ticket: TicketReplica) -> None:
    conn.execute(
        update(order_tickets)
        .where(order_tickets.c.id == ticket.id)
        .values(
            title=ticket.title,
            price_minor=ticket.price.minor,
            currency=ticket.price.currency,
            owner_id=ticket.owner_id,
            version=ticket.version,
        )
    )
