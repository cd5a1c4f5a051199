from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from openticket.core.errors import Conflict
from openticket.core.money import Money
from openticket.core.payments.model import LIVE_STATUSES, OrderReplica, Payment
from openticket.core.payments.tables import payment_orders, payments
from openticket.store.bulk import insert_many
from openticket.store.insert_new import insert_new
from openticket.store.sql import one_of


def _payment(row: Any) -> Payment:
    return Payment(
        id=row.id,
        order_id=row.order_id,
        attempt=row.attempt,
        status=row.status,
        amount=Money(row.amount_minor, row.currency),
        provider=row.provider,
        source=row.source,
        idempotency_key=row.idempotency_key,
        provider_ref=row.provider_ref,
        failure_message=row.failure_message,
    )


def add(conn: Connection, payment: Payment, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(payments).values(
                    id=payment.id,
                    order_id=payment.order_id,
                    attempt=payment.attempt,
                    status=payment.status,
                    amount_minor=payment.amount.minor,
                    currency=payment.amount.currency,
                    provider=payment.provider,
                    source=payment.source,
                    idempotency_key=payment.idempotency_key,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        raise Conflict("A payment for this order is already in progress", "order_id") from None


def save(conn: Connection, payment: Payment, now: datetime) -> None:
    conn.execute(
        update(payments)
        .where(payments.c.id == payment.id)
        .values(
            status=payment.status,
            provider_ref=payment.provider_ref,
            failure_message=payment.failure_message,
            updated_at=now,
        )
    )


def get(conn: Connection, payment_id: str) -> Payment | None:
    row = conn.execute(select(payments).where(payments.c.id == payment_id)).first()
    return None if row is None else _payment(row)


def live_for_order(conn: Connection, order_id: str) -> Payment | None:
    query = select(payments).where(
        payments.c.order_id == order_id, one_of(payments.c.status, LIVE_STATUSES)
    )
    row = conn.execute(query).first()
    return None if row is None else _payment(row)


def attempts_for_order(conn: Connection, order_id: str) -> int:
    query = select(func.count()).select_from(payments).where(payments.c.order_id == order_id)
    return int(conn.execute(query).scalar_one())


def with_status(conn: Connection, statuses: tuple[str, ...], limit: int = 500) -> list[Payment]:
    query = (
        select(payments)
        .where(payments.c.status.in_(statuses))
        .order_by(payments.c.created_at)
        .limit(limit)
    )
    return [_payment(row) for row in conn.execute(query)]


def any_with_status(conn: Connection, status: str) -> bool:
    return conn.execute(_ANY_WITH_STATUS, {"status": status}).first() is not None


def all_payments(conn: Connection) -> list[Payment]:
    return [_payment(row) for row in conn.execute(select(payments).order_by(payments.c.created_at))]


_ORDER_BY_ID = select(payment_orders).where(payment_orders.c.id == bindparam("order_id"))
_ANY_WITH_STATUS = select(payments.c.id).where(payments.c.status == bindparam("status")).limit(1)


def get_order(conn: Connection, order_id: str) -> OrderReplica | None:
    row = conn.execute(_ORDER_BY_ID, {"order_id": order_id}).first()
    if row is None:
        return None
    return OrderReplica(
        id=row.id,
        user_id=row.user_id,
        price=Money(row.price_minor, row.currency),
        status=row.status,
        expires_at=row.expires_at,
        version=row.version,
        cancel_reason=row.cancel_reason,
    )


def add_order(conn: Connection, order: OrderReplica) -> bool:
    """Record a new order; False when it is known already (a redelivered event)."""
    return insert_new(
        conn, payment_orders, dict(zip(_ORDER_COLUMNS, _order_row(order), strict=True))
    )


def add_new_orders(conn: Connection, new: list[OrderReplica]) -> None:
    """`add_order` for many; those known already are left as they are."""
    rows = [_order_row(order) for order in new]
    insert_many(conn, payment_orders, _ORDER_COLUMNS, rows, skip_existing=True)


_ORDER_COLUMNS = (
    "id",
    "user_id",
    "price_minor",
    "currency",
    "status",
    "expires_at",
    "version",
    "cancel_reason",
)


def _order_row(order: OrderReplica) -> tuple[Any, ...]:
    return (
        order.id,
        order.user_id,
        order.price.minor,
        order.price.currency,
        order.status,
        order.expires_at,
        order.version,
        None,
    )


def save_order_status(
    conn: Connection, order_id: str, status: str, version: int, reason: str | None
) -> None:
    conn.execute(
        update(payment_orders)
        .where(payment_orders.c.id == order_id)
        .values(status=status, version=version, cancel_reason=reason)
    )
