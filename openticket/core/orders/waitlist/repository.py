from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from openticket.core.errors import Conflict
from openticket.core.orders.waitlist.model import (
    ACTIVE_STATUSES,
    CLOSED,
    WAITING,
    Entry,
)
from openticket.core.orders.waitlist.tables import waitlist_entries as entries
from openticket.core.ports import Transaction
from openticket.store.rows import Reader
from openticket.store.sql import one_of
from openticket.store.uow import connection

_entry = Reader(Entry)


def add(tx: Transaction, entry: Entry) -> None:
    row = {name: getattr(entry, name) for name in entry.__dataclass_fields__}
    try:  # a refused insert ends the command, and its transaction with it
        connection(tx).execute(entries.insert(), row)
    except IntegrityError:
        raise Conflict("You are already in this ticket's waitlist", "ticket_id") from None


def next_line(tx: Transaction, ticket_id: str, ticket_round: int) -> int:
    """The place after the last joiner's (the caller holds the listing's lock)."""
    query = select(func.coalesce(func.max(entries.c.line), 0)).where(
        entries.c.ticket_id == ticket_id, entries.c.ticket_round == ticket_round
    )
    return int(connection(tx).execute(query).scalar_one()) + 1


def active_of_user(tx: Transaction, ticket_id: str, user_id: str) -> Entry | None:
    """The user's place in the ticket's line (of any listing of it: an old one's is closed
    when the next listing's line begins, but not before)."""
    query = select(entries).where(
        entries.c.ticket_id == ticket_id,
        entries.c.user_id == user_id,
        one_of(entries.c.status, ACTIVE_STATUSES),
    )
    return _entry.first(connection(tx).execute(query.with_for_update()))


def first_waiting(tx: Transaction, ticket_id: str, ticket_round: int) -> Entry | None:
    query = (
        select(entries)
        .where(
            entries.c.ticket_id == ticket_id,
            entries.c.ticket_round == ticket_round,
            entries.c.status == WAITING,
        )
        .order_by(entries.c.line)
        .limit(1)
    )
    return _entry.first(connection(tx).execute(query.with_for_update()))


def for_order(tx: Transaction, order_id: str) -> Entry | None:
    """The entry whose offer this order is, if it is one."""
    query = select(entries).where(entries.c.order_id == order_id)
    return _entry.first(connection(tx).execute(query.with_for_update()))


def set_status(tx: Transaction, entry_id: str, status: str, order_id: str | None = None) -> None:
    values: dict[str, str] = {"status": status}
    if order_id is not None:
        values["order_id"] = order_id
    connection(tx).execute(update(entries).where(entries.c.id == entry_id).values(**values))


def close_line(tx: Transaction, ticket_id: str, ticket_round: int) -> None:
    """The listing was sold or taken off sale: nobody still waiting will be offered it."""
    connection(tx).execute(
        update(entries)
        .where(
            entries.c.ticket_id == ticket_id,
            entries.c.ticket_round == ticket_round,
            entries.c.status == WAITING,
        )
        .values(status=CLOSED)
    )


def of_user(tx: Transaction, user_id: str, limit: int) -> list[Entry]:
    query = (
        select(entries)
        .where(entries.c.user_id == user_id)
        .order_by(entries.c.joined_at.desc(), entries.c.id)
        .limit(limit)
    )
    return [_entry(row) for row in connection(tx).execute(query)]


def active_count(tx: Transaction, user_id: str) -> int:
    query = select(func.count()).where(
        entries.c.user_id == user_id, one_of(entries.c.status, ACTIVE_STATUSES)
    )
    return int(connection(tx).execute(query).scalar_one())


def waiting_ahead(tx: Transaction, entry: Entry) -> int:
    query = select(func.count()).where(
        entries.c.ticket_id == entry.ticket_id,
        entries.c.ticket_round == entry.ticket_round,
        entries.c.status == WAITING,
        entries.c.line < entry.line,
    )
    return int(connection(tx).execute(query).scalar_one())
