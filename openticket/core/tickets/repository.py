from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, update

from openticket.core.ports import Transaction
from openticket.core.tickets.model import SORTS, Ticket
from openticket.core.tickets.query import TicketQuery
from openticket.core.tickets.tables import ticket_orders, tickets
from openticket.store.bulk import insert_many, insert_new_many, rows_by_keys, update_many
from openticket.store.insert_new import insert_new
from openticket.store.locks import key_of, lock_key
from openticket.store.rows import Reader
from openticket.store.uow import connection

_INSERT = insert(tickets)
_BY_ID = select(tickets).where(tickets.c.id == bindparam("ticket_id"))
_SAVED_COLUMNS = (
    "title",
    "price_minor",
    "currency",
    "owner_id",
    "status",
    "order_id",
    "round",
    "updated_at",
    "version",
)
_BY_IDS = select(tickets).where(tickets.c.id.in_(bindparam("ticket_ids", expanding=True)))
_BY_EXTERNAL_IDS = select(tickets).where(
    tickets.c.owner_id == bindparam("owner_id"),
    tickets.c.external_id.in_(bindparam("external_ids", expanding=True)),
)
# A row exported from a listing without an external id carries the ticket's own id instead.
_UNNAMED_BY_IDS = select(tickets).where(
    tickets.c.owner_id == bindparam("owner_id"),
    tickets.c.external_id.is_(None),
    tickets.c.id.in_(bindparam("ticket_ids", expanding=True)),
)
_ORDER_STATE = (
    select(ticket_orders.c.version, ticket_orders.c.status)
    .where(ticket_orders.c.id == bindparam("order_id"))
    .with_for_update()
)
# Locking reads (PostgreSQL; SQLite has one writer anyway): a use case or reaction that
# decides on a ticket holds its row until it commits; many are locked in id order, so that
# two transactions never each hold one the other waits for.
_BY_ID_LOCKED = _BY_ID.with_for_update()
_BY_IDS_LOCKED = _BY_IDS.order_by(tickets.c.id).with_for_update()
_SAVE_ORDER = (
    update(ticket_orders)
    .where(ticket_orders.c.id == bindparam("b_id"))
    .values(version=bindparam("version"), status=bindparam("status"))
)


_INSERT_COLUMNS = (
    "id",
    "title",
    "price_minor",
    "currency",
    "owner_id",
    "version",
    "status",
    "order_id",
    "external_id",
    "created_at",
    "updated_at",
)

_ticket = Reader(Ticket)


def _insert_row(t: Ticket, now: datetime) -> tuple[Any, ...]:
    """A new ticket's values, in _INSERT_COLUMNS order."""
    return (
        t.id,
        t.title,
        t.price.minor,
        t.price.currency,
        t.owner_id,
        t.version,
        t.status,
        t.order_id,
        t.external_id,
        now,
        now,
    )


def _insert_params(ticket: Ticket, now: datetime) -> dict[str, Any]:
    return dict(zip(_INSERT_COLUMNS, _insert_row(ticket, now), strict=True))


def add(tx: Transaction, ticket: Ticket, now: datetime) -> None:
    conn = connection(tx)
    conn.execute(_INSERT, _insert_params(ticket, now))


def add_many(tx: Transaction, new: list[Ticket], now: datetime) -> None:
    conn = connection(tx)
    if new:
        insert_many(conn, tickets, _INSERT_COLUMNS, [_insert_row(t, now) for t in new])


def get(tx: Transaction, ticket_id: str, *, lock: bool = False) -> Ticket | None:
    query = _BY_ID_LOCKED if lock else _BY_ID
    return _ticket.first(connection(tx).execute(query, {"ticket_id": ticket_id}))


def get_many(tx: Transaction, ticket_ids: list[str]) -> dict[str, Ticket]:
    """These tickets, locked in id order."""
    rows = rows_by_keys(connection(tx), _BY_IDS_LOCKED, "ticket_ids", sorted(ticket_ids))
    return {row.id: _ticket(row) for row in rows}


def save(tx: Transaction, ticket: Ticket, now: datetime) -> None:
    """Write a changed ticket; its version must be exactly one above the stored one."""
    save_many(tx, [ticket], now)


def save_many(tx: Transaction, changed: list[Ticket], now: datetime) -> None:
    """`save` for each ticket in turn, in one statement. A ticket may come more than once:
    its versions follow each other, and the last is written over the one before the first."""
    if not changed:
        return
    rows: dict[str, tuple[Any, ...]] = {}
    for ticket in changed:
        before = rows.get(ticket.id)
        if before is not None and before[-1] != ticket.version - 1:
            raise RuntimeError(f"ticket changed out of order: {ticket.id}")
        expected = ticket.version - 1 if before is None else before[1]
        rows[ticket.id] = (ticket.id, expected, *_saved_values(ticket, now))
    saved = update_many(
        connection(tx), tickets, ("id", "version"), _SAVED_COLUMNS, [*rows.values()]
    )
    if saved != len(rows):
        stale = ", ".join(rows)
        raise RuntimeError(f"ticket changed concurrently (stale version): {stale}")


def _saved_values(ticket: Ticket, now: datetime) -> tuple[Any, ...]:
    return (
        ticket.title,
        ticket.price.minor,
        ticket.price.currency,
        ticket.owner_id,
        ticket.status,
        ticket.order_id,
        ticket.round,
        now,
        ticket.version,
    )


def search(tx: Transaction, query: TicketQuery) -> list[Ticket]:
    return [_ticket(row) for row in connection(tx).execute(listing(query))]


def listing(query: TicketQuery) -> Select[Any]:
    """The statement of a page of `query` (also compiled ahead for the CLI: quick_sql.py)."""
    statement = _matching(select(tickets), query)
    statement = statement.order_by(*_ORDERINGS[query.sort], tickets.c.id)
    return statement.limit(query.limit).offset(query.offset)


def count_matching(tx: Transaction, query: TicketQuery) -> int:
    """How many tickets `search` pages through for `query`."""
    statement = _matching(select(func.count()).select_from(tickets), query)
    return int(connection(tx).execute(statement).scalar_one())


def _matching(statement: Select[Any], query: TicketQuery) -> Select[Any]:
    if query.status is not None:
        statement = statement.where(tickets.c.status == query.status)
    if query.owner_id is not None:
        statement = statement.where(tickets.c.owner_id == query.owner_id)
    if query.pattern is not None:
        statement = statement.where(func.lower(tickets.c.title).like(query.pattern, escape="\\"))
    return statement


_ORDERINGS = {
    "listed": (tickets.c.created_at,),
    # Amounts in different currencies are not comparable: by currency, then amount.
    "price": (tickets.c.currency, tickets.c.price_minor),
    "-price": (tickets.c.currency, tickets.c.price_minor.desc()),
    "title": (func.lower(tickets.c.title),),
    "-title": (func.lower(tickets.c.title).desc(),),
}
assert tuple(_ORDERINGS) == SORTS


def count(tx: Transaction) -> int:
    conn = connection(tx)
    return int(conn.execute(select(func.count()).select_from(tickets)).scalar_one())


def lock_imports(tx: Transaction, owner_id: str) -> None:
    """Hold this seller's import lock until the transaction ends (PostgreSQL)."""
    lock_key(connection(tx), key_of("import", owner_id))


def order_state(tx: Transaction, order_id: str) -> tuple[int, str] | None:
    """The order's known version and status, its row locked until the change is applied."""
    conn = connection(tx)
    row = conn.execute(_ORDER_STATE, {"order_id": order_id}).first()
    return None if row is None else (row.version, row.status)


def add_order(tx: Transaction, order_id: str, ticket_id: str, version: int, status: str) -> bool:
    """Record a new order; False when it is known already (a redelivered event)."""
    conn = connection(tx)
    values = {"id": order_id, "ticket_id": ticket_id, "version": version, "status": status}
    return insert_new(conn, ticket_orders, values)


def add_new_orders(tx: Transaction, new: list[tuple[str, str, int, str]]) -> set[str]:
    """`add_order` for many (order id, ticket id, version, status); the ids not known before."""
    conn = connection(tx)
    return insert_new_many(conn, ticket_orders, ("id", "ticket_id", "version", "status"), new)


def save_order(tx: Transaction, order_id: str, version: int, status: str) -> None:
    conn = connection(tx)
    conn.execute(_SAVE_ORDER, {"b_id": order_id, "version": version, "status": status})


def by_external_ids(
    tx: Transaction, owner_id: str, external_ids: list[str], *, lock: bool = False
) -> dict[str, Ticket]:
    query = _BY_EXTERNAL_IDS.order_by(tickets.c.id).with_for_update() if lock else _BY_EXTERNAL_IDS
    rows = rows_by_keys(connection(tx), query, "external_ids", external_ids, owner_id=owner_id)
    return {row.external_id: _ticket(row) for row in rows}


def unnamed_by_ids(
    tx: Transaction, owner_id: str, ticket_ids: list[str], *, lock: bool = False
) -> dict[str, Ticket]:
    """The owner's listings without an external id, of these ids."""
    query = _UNNAMED_BY_IDS.order_by(tickets.c.id).with_for_update() if lock else _UNNAMED_BY_IDS
    rows = rows_by_keys(connection(tx), query, "ticket_ids", sorted(ticket_ids), owner_id=owner_id)
    return {row.id: _ticket(row) for row in rows}


def page_after(
    tx: Transaction, *, owner_id: str | None, status: str | None, after_id: str, limit: int
) -> list[Ticket]:
    """Tickets in id order after `after_id` (keyset paging for exports)."""
    conn = connection(tx)
    query = select(tickets).where(tickets.c.id > after_id)
    if owner_id is not None:
        query = query.where(tickets.c.owner_id == owner_id)
    if status is not None:
        query = query.where(tickets.c.status == status)
    return [_ticket(row) for row in conn.execute(query.order_by(tickets.c.id).limit(limit))]
