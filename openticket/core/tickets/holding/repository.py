from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update

from openticket.core.money import Money
from openticket.core.ports import Transaction
from openticket.core.signing_keys import SigningKey, key_id
from openticket.core.tickets.holding.model import SALE, Holding, Transfer
from openticket.core.tickets.holding.tables import checkin_staff, code_keys, holdings, transfers
from openticket.store.insert_new import insert_new
from openticket.store.rows import Reader
from openticket.store.uow import connection

_holding = Reader(Holding)
_transfer = Reader(Transfer)
_BY_ID = select(holdings).where(holdings.c.id == bindparam("ticket_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_SAVE = (
    update(holdings)
    .where(holdings.c.id == bindparam("b_id"))
    .values(
        holder_id=bindparam("holder_id"),
        serial=bindparam("serial"),
        paid_minor=bindparam("paid_minor"),
        currency=bindparam("currency"),
        basis_minor=bindparam("basis_minor"),
        order_id=bindparam("order_id"),
        acquired_at=bindparam("acquired_at"),
        checked_in_at=bindparam("checked_in_at"),
        prior_paid_minor=bindparam("prior_paid_minor"),
        prior_basis_minor=bindparam("prior_basis_minor"),
    )
)


def _values(holding: Holding) -> dict[str, Any]:
    return {
        "holder_id": holding.holder_id,
        "serial": holding.serial,
        "paid_minor": holding.paid.minor,
        "currency": holding.paid.currency,
        "basis_minor": holding.basis.minor,
        "order_id": holding.order_id,
        "acquired_at": holding.acquired_at,
        "checked_in_at": holding.checked_in_at,
        "prior_paid_minor": holding.prior_paid_minor,
        "prior_basis_minor": holding.prior_basis_minor,
    }


def get(tx: Transaction, ticket_id: str, *, lock: bool = False) -> Holding | None:
    query = _BY_ID_LOCKED if lock else _BY_ID
    return _holding.first(connection(tx).execute(query, {"ticket_id": ticket_id}))


def add(tx: Transaction, holding: Holding) -> None:
    values = _values(holding) | {"id": holding.id, "issuer_id": holding.issuer_id}
    connection(tx).execute(insert(holdings), values)


def save(tx: Transaction, holding: Holding) -> None:
    connection(tx).execute(_SAVE, _values(holding) | {"b_id": holding.id})


def held_by(tx: Transaction, holder_id: str) -> list[Holding]:
    query = (
        select(holdings)
        .where(holdings.c.holder_id == holder_id)
        .order_by(holdings.c.acquired_at.desc(), holdings.c.id)
    )
    return [_holding(row) for row in connection(tx).execute(query)]


def held_among(tx: Transaction, ticket_ids: list[str]) -> set[str]:
    """Those of these tickets someone holds (a listing of one of them is a resale)."""
    if not ticket_ids:
        return set()
    query = select(holdings.c.id).where(holdings.c.id.in_(ticket_ids))
    return set(connection(tx).execute(query).scalars())


def record_transfer(
    tx: Transaction,
    holding: Holding,
    from_id: str,
    kind: str,
    price: Money,
    now: datetime,
    order_id: str | None = None,
) -> None:
    """`holding` came to its holder from `from_id`; `order_id`: the order this undoes, for a
    refund (else the holding's own)."""
    connection(tx).execute(
        insert(transfers),
        {
            "ticket_id": holding.id,
            "from_id": from_id,
            "to_id": holding.holder_id,
            "kind": kind,
            "serial": holding.serial,
            "price_minor": price.minor,
            "currency": price.currency,
            "order_id": order_id or holding.order_id,
            "at": now,
        },
    )


def sale_of_order(tx: Transaction, order_id: str) -> Transfer | None:
    """The record of the sale an order made (None before it completed)."""
    query = select(transfers).where(transfers.c.order_id == order_id, transfers.c.kind == SALE)
    return _transfer.first(connection(tx).execute(query.order_by(transfers.c.id).limit(1)))


def transfers_of(tx: Transaction, user_id: str) -> list[Transfer]:
    """The transfers this user took part in, either side, oldest first."""
    query = (
        select(transfers)
        .where(or_(transfers.c.from_id == user_id, transfers.c.to_id == user_id))
        .order_by(transfers.c.id)
    )
    return [_transfer(row) for row in connection(tx).execute(query)]


def add_staff(tx: Transaction, issuer_id: str, staff_id: str, now: datetime) -> datetime:
    """When this person joined the issuer's staff (now, unless they were on it already)."""
    values = {"issuer_id": issuer_id, "staff_id": staff_id, "added_at": now}
    if insert_new(connection(tx), checkin_staff, values):
        return now
    return dict(staff_of(tx, issuer_id))[staff_id]


def remove_staff(tx: Transaction, issuer_id: str, staff_id: str) -> bool:
    """False when this person was not on the issuer's staff."""
    query = delete(checkin_staff).where(
        checkin_staff.c.issuer_id == issuer_id, checkin_staff.c.staff_id == staff_id
    )
    return connection(tx).execute(query).rowcount > 0


def staff_of(tx: Transaction, issuer_id: str) -> list[tuple[str, datetime]]:
    """(staff id, when added) of the issuer's check-in staff, first added first."""
    query = (
        select(checkin_staff.c.staff_id, checkin_staff.c.added_at)
        .where(checkin_staff.c.issuer_id == issuer_id)
        .order_by(checkin_staff.c.added_at, checkin_staff.c.staff_id)
    )
    return [(row.staff_id, row.added_at) for row in connection(tx).execute(query)]


def is_staff(tx: Transaction, issuer_id: str, user_id: str) -> bool:
    query = select(checkin_staff.c.staff_id).where(
        checkin_staff.c.issuer_id == issuer_id, checkin_staff.c.staff_id == user_id
    )
    return connection(tx).execute(query).first() is not None


# The code keys' rows (core/key_table.TableKeyRing reads them through these three).
def signing_keys(tx: Transaction) -> list[SigningKey]:
    rows = connection(tx).execute(select(code_keys).order_by(code_keys.c.id.desc()))
    return [SigningKey(key_id(row.secret), row.secret, row.created_at) for row in rows]


def add_signing_key(tx: Transaction, key: SigningKey) -> None:
    values = {"secret": key.secret, "created_at": key.created_at}
    connection(tx).execute(insert(code_keys).values(**values))


def delete_signing_keys(tx: Transaction) -> None:
    connection(tx).execute(delete(code_keys))
