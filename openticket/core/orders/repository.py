from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError

from openticket.core.errors import Conflict
from openticket.core.orders.model import (
    CREATED,
    LIVE_STATUSES,
    OPEN_STATUSES,
    PAYMENT_HOLD,
    Order,
    TicketReplica,
)
from openticket.core.orders.tables import order_tickets, orders
from openticket.core.ports import Transaction
from openticket.store.bulk import insert_many, rows_by_keys, update_many
from openticket.store.rows import Reader
from openticket.store.sql import one_of
from openticket.store.uow import connection

_order = Reader(Order)
_replica = Reader(TicketReplica)

# Statements on the reservation path are built once: building one per call costs more than
# running it (bench/reserve.py).
_INSERT_ORDER = insert(orders)
_ORDER_BY_ID = select(orders).where(orders.c.id == bindparam("order_id"))
_SAVE_ORDER = (
    update(orders)
    .where(orders.c.id == bindparam("b_id"), orders.c.version == bindparam("b_version"))
    .values(status=bindparam("status"), version=bindparam("version"))
)
_LIVE_FOR_TICKET = select(orders).where(
    orders.c.ticket_id == bindparam("ticket_id"),
    orders.c.ticket_round == bindparam("ticket_round"),
    one_of(orders.c.status, LIVE_STATUSES),
)
# Open orders past their window: `created` ones at once, those awaiting a payment's outcome
# after PAYMENT_HOLD (`held_until` = now - PAYMENT_HOLD).
_OVERDUE = (
    select(orders)
    .where(
        one_of(orders.c.status, OPEN_STATUSES),
        orders.c.expires_at <= bindparam("now"),
        or_(
            orders.c.status == literal_column(f"'{CREATED}'"),
            orders.c.expires_at <= bindparam("held_until"),
        ),
    )
    .order_by(orders.c.expires_at)
)
_ANY_OVERDUE = _OVERDUE.with_only_columns(orders.c.id).limit(1)
_SET_PAYMENT = (
    update(orders)
    .where(orders.c.id == bindparam("b_id"))
    .values(status=bindparam("status"), payment_attempt=bindparam("payment_attempt"))
)
_TICKET_BY_ID = select(order_tickets).where(order_tickets.c.id == bindparam("ticket_id"))
_TICKETS_BY_IDS = select(order_tickets).where(
    order_tickets.c.id.in_(bindparam("ticket_ids", expanding=True))
)
# Locking reads (PostgreSQL; SQLite has one writer anyway): a use case that decides on a row
# holds it until it commits. Many rows are locked in id order, so that two transactions
# never each hold one the other waits for.
_ORDER_BY_ID_LOCKED = _ORDER_BY_ID.with_for_update()
_LIVE_FOR_TICKET_LOCKED = _LIVE_FOR_TICKET.with_for_update()
_TICKET_BY_ID_LOCKED = _TICKET_BY_ID.with_for_update()
_TICKETS_BY_IDS_LOCKED = _TICKETS_BY_IDS.order_by(order_tickets.c.id).with_for_update()
_INSERT_TICKET = insert(order_tickets)
_ORDER_COLUMNS = (
    "id",
    "user_id",
    "ticket_id",
    "ticket_title",
    "price_minor",
    "currency",
    "status",
    "expires_at",
    "version",
    "ticket_round",
    "seller_id",
    "created_at",
)


def _order_row(order: Order, now: datetime) -> tuple[Any, ...]:
    return (
        order.id,
        order.user_id,
        order.ticket_id,
        order.ticket_title,
        order.price.minor,
        order.price.currency,
        order.status,
        order.expires_at,
        order.version,
        order.ticket_round,
        order.seller_id,
        now,
    )


def add(tx: Transaction, order: Order, now: datetime) -> None:
    conn = connection(tx)
    try:  # a refused insert ends the command, and its transaction with it
        conn.execute(_INSERT_ORDER, dict(zip(_ORDER_COLUMNS, _order_row(order, now), strict=True)))
    except IntegrityError:
        raise Conflict("Ticket is already reserved", "ticket_id") from None


def add_many(tx: Transaction, new_orders: list[Order], now: datetime) -> None:
    """`add` for many, in one statement: Conflict if a ticket has a live order already (then
    none is written, and the transaction cannot go on)."""
    rows = [_order_row(order, now) for order in new_orders]
    try:
        insert_many(connection(tx), orders, _ORDER_COLUMNS, rows)
    except IntegrityError:
        raise Conflict("A ticket is already reserved", "ticket_id") from None


def get(tx: Transaction, order_id: str, *, lock: bool = False) -> Order | None:
    query = _ORDER_BY_ID_LOCKED if lock else _ORDER_BY_ID
    return _order.first(connection(tx).execute(query, {"order_id": order_id}))


def save(tx: Transaction, order: Order) -> None:
    conn = connection(tx)
    result = conn.execute(
        _SAVE_ORDER,
        {
            "b_id": order.id,
            "b_version": order.version - 1,
            "status": order.status,
            "version": order.version,
        },
    )
    if result.rowcount != 1:
        raise RuntimeError(f"order {order.id} changed concurrently (stale version)")


def save_payment_state(tx: Transaction, order: Order) -> None:
    """Whether a payment is being charged: the orders domain's own state, not announced
    (no version of the order changes, so no replica is concerned)."""
    conn = connection(tx)
    conn.execute(
        _SET_PAYMENT,
        {"b_id": order.id, "status": order.status, "payment_attempt": order.payment_attempt},
    )


def live_for_ticket(tx: Transaction, ticket_id: str, ticket_round: int) -> Order | None:
    """The live order of this listing of the ticket, locked (a reservation may expire it)."""
    conn = connection(tx)
    params = {"ticket_id": ticket_id, "ticket_round": ticket_round}
    return _order.first(conn.execute(_LIVE_FOR_TICKET_LOCKED, params))


_LIVE_FOR_TICKETS = select(orders).where(
    orders.c.ticket_id.in_(bindparam("ticket_ids", expanding=True)),
    one_of(orders.c.status, LIVE_STATUSES),
)


def live_for_tickets(tx: Transaction, ticket_ids: list[str]) -> dict[str, list[Order]]:
    """The live orders of these tickets (of any listing), by ticket; read, not locked."""
    found: dict[str, list[Order]] = {}
    for row in rows_by_keys(connection(tx), _LIVE_FOR_TICKETS, "ticket_ids", ticket_ids):
        found.setdefault(row.ticket_id, []).append(_order(row))
    return found


def _overdue_params(now: datetime) -> dict[str, datetime]:
    return {"now": now, "held_until": now - PAYMENT_HOLD}


def overdue(tx: Transaction, now: datetime, limit: int = 500) -> list[Order]:
    """Open orders past their window, as read (not locked: the caller locks each after its
    ticket, and looks again)."""
    conn = connection(tx)
    rows = conn.execute(_OVERDUE.limit(limit), _overdue_params(now))
    return [_order(row) for row in rows]


def any_overdue(tx: Transaction, now: datetime) -> bool:
    conn = connection(tx)
    return conn.execute(_ANY_OVERDUE, _overdue_params(now)).first() is not None


def for_user(tx: Transaction, user_id: str) -> list[Order]:
    conn = connection(tx)
    query = (
        select(orders)
        .where(orders.c.user_id == user_id)
        .order_by(orders.c.created_at.desc(), orders.c.id)
    )
    return [_order(row) for row in conn.execute(query)]


def get_ticket(tx: Transaction, ticket_id: str, *, lock: bool = False) -> TicketReplica | None:
    query = _TICKET_BY_ID_LOCKED if lock else _TICKET_BY_ID
    return _replica.first(connection(tx).execute(query, {"ticket_id": ticket_id}))


def get_tickets(tx: Transaction, ticket_ids: list[str]) -> dict[str, TicketReplica]:
    """These replicas, locked in id order."""
    rows = rows_by_keys(connection(tx), _TICKETS_BY_IDS_LOCKED, "ticket_ids", sorted(ticket_ids))
    return {row.id: _replica(row) for row in rows}


def add_ticket(tx: Transaction, ticket: TicketReplica) -> None:
    conn = connection(tx)
    conn.execute(_INSERT_TICKET, _ticket_params(ticket))


def add_new_tickets(tx: Transaction, tickets: list[TicketReplica]) -> None:
    """Add the replicas of tickets not seen yet; those already known are left as they are."""
    conn = connection(tx)
    rows = [_ticket_row(t) for t in tickets]
    insert_many(conn, order_tickets, _TICKET_COLUMNS, rows, skip_existing=True)


_TICKET_COLUMNS = (
    "id",
    "title",
    "price_minor",
    "currency",
    "owner_id",
    "version",
    "round",
    "on_sale",
)


def _ticket_row(t: TicketReplica) -> tuple[Any, ...]:
    return (
        t.id,
        t.title,
        t.price.minor,
        t.price.currency,
        t.owner_id,
        t.version,
        t.round,
        t.on_sale,
    )


def _ticket_params(ticket: TicketReplica) -> dict[str, Any]:
    return dict(zip(_TICKET_COLUMNS, _ticket_row(ticket), strict=True))


def save_ticket(tx: Transaction, ticket: TicketReplica) -> None:
    save_tickets(tx, [ticket])


def save_tickets(tx: Transaction, changed: list[TicketReplica]) -> None:
    """Write these replicas, in one statement (a replica given twice: its last)."""
    rows = [_ticket_row(ticket) for ticket in {t.id: t for t in changed}.values()]
    update_many(connection(tx), order_tickets, _TICKET_COLUMNS[:1], _TICKET_COLUMNS[1:], rows)
