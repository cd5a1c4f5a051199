from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from openticket.core.errors import InProgress
from openticket.core.payments.model import (
    CANCELLING,
    LIVE_STATUSES,
    PENDING,
    REFUND_PENDING,
    OrderReplica,
    Payment,
)
from openticket.core.payments.tables import payment_orders, payments, provider_notifications
from openticket.core.ports import Transaction
from openticket.store.bulk import insert_many
from openticket.store.insert_new import insert_new
from openticket.store.rows import Reader
from openticket.store.sql import one_of
from openticket.store.uow import connection

_payment = Reader(Payment)
_order = Reader(OrderReplica)


def add(tx: Transaction, payment: Payment, now: datetime) -> None:
    conn = connection(tx)
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
                    lease_until=payment.lease_until,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        raise InProgress("A payment for this order is in progress", "order_id") from None


def save(tx: Transaction, payment: Payment, now: datetime) -> None:
    conn = connection(tx)
    conn.execute(
        update(payments)
        .where(payments.c.id == payment.id)
        .values(
            status=payment.status,
            provider_ref=payment.provider_ref,
            failure_message=payment.failure_message,
            action_url=payment.action_url,
            lease_until=payment.lease_until if payment.status == PENDING else None,
            updated_at=now,
        )
    )


_UNLEASED = (
    select(payments)
    .where(
        one_of(payments.c.status, (PENDING,)),
        payments.c.lease_until <= bindparam("now"),
        payments.c.provider == bindparam("provider"),
    )
    .order_by(payments.c.lease_until)
)
_DUE = _UNLEASED.where(or_(payments.c.retry_at.is_(None), payments.c.retry_at <= bindparam("now")))
STALE_BATCH = 20  # looked at per transaction; taken one at a time


def any_stale(tx: Transaction, now: datetime, provider: str) -> bool:
    """Whether some pending attempt of this provider is nobody's and due to be asked about
    again (one indexed probe: it runs before every command)."""
    conn = connection(tx)
    params = {"now": now, "provider": provider}
    return conn.execute(_DUE.limit(1), params).first() is not None


def stale(tx: Transaction, now: datetime, provider: str) -> list[Payment]:
    conn = connection(tx)
    params = {"now": now, "provider": provider}
    return [_payment(row) for row in conn.execute(_DUE.limit(STALE_BATCH), params)]


def unleased_of(tx: Transaction, now: datetime, provider: str, order_id: str) -> list[Payment]:
    """This order's pending attempt if nobody drives it, due or not (its buyer asks)."""
    conn = connection(tx)
    query = _UNLEASED.where(payments.c.order_id == order_id)
    params = {"now": now, "provider": provider}
    return [_payment(row) for row in conn.execute(query, params)]


def lease(tx: Transaction, payment_id: str, now: datetime, until: datetime) -> bool:
    """Take a pending attempt whose lease is over, until `until`; False when another process
    holds it (or it has finished)."""
    conn = connection(tx)
    result = conn.execute(
        update(payments)
        .where(
            payments.c.id == payment_id,
            payments.c.status == PENDING,
            payments.c.lease_until <= now,
        )
        .values(lease_until=until, updated_at=now)
    )
    return result.rowcount == 1


def release(tx: Transaction, payment_id: str, now: datetime, retry_at: datetime) -> None:
    """Nobody drives a pending attempt from now (its outcome is unknown): its buyer may ask
    again at once, the recovery from `retry_at`."""
    conn = connection(tx)
    conn.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.status == PENDING)
        .values(lease_until=now, retry_at=retry_at, updated_at=now)
    )


# Locking reads (PostgreSQL; SQLite has one writer anyway): what a use case or reaction
# decides on stays locked until it commits, always the order's replica before its payments.
def get(tx: Transaction, payment_id: str, *, lock: bool = False) -> Payment | None:
    query = select(payments).where(payments.c.id == payment_id)
    return _payment.first(connection(tx).execute(query.with_for_update() if lock else query))


def live_for_order(tx: Transaction, order_id: str) -> Payment | None:
    """The order's live attempt, locked."""
    conn = connection(tx)
    query = select(payments).where(
        payments.c.order_id == order_id, one_of(payments.c.status, LIVE_STATUSES)
    )
    row = conn.execute(query.with_for_update()).first()
    return None if row is None else _payment(row)


def attempts_for_order(tx: Transaction, order_id: str) -> int:
    conn = connection(tx)
    query = select(func.count()).select_from(payments).where(payments.c.order_id == order_id)
    return int(conn.execute(query).scalar_one())


def with_status(tx: Transaction, statuses: tuple[str, ...], limit: int = 500) -> list[Payment]:
    conn = connection(tx)
    query = (
        select(payments)
        .where(payments.c.status.in_(statuses))
        .order_by(payments.c.created_at)
        .limit(limit)
    )
    return [_payment(row) for row in conn.execute(query)]


def any_to_settle(tx: Transaction) -> bool:
    """Whether a charge is to be refunded, or an attempt given up at the provider."""
    return connection(tx).execute(_ANY_TO_SETTLE).first() is not None


def latest_for_order(tx: Transaction, order_id: str) -> Payment | None:
    query = (
        select(payments)
        .where(payments.c.order_id == order_id)
        .order_by(payments.c.attempt.desc())
        .limit(1)
    )
    return _payment.first(connection(tx).execute(query))


def all_payments(tx: Transaction) -> list[Payment]:
    conn = connection(tx)
    return [_payment(row) for row in conn.execute(select(payments).order_by(payments.c.created_at))]


_ORDER_BY_ID = select(payment_orders).where(payment_orders.c.id == bindparam("order_id"))
_ORDER_BY_ID_LOCKED = _ORDER_BY_ID.with_for_update()
_ANY_TO_SETTLE = (
    select(payments.c.id).where(one_of(payments.c.status, (REFUND_PENDING, CANCELLING))).limit(1)
)


def get_order(tx: Transaction, order_id: str, *, lock: bool = False) -> OrderReplica | None:
    query = _ORDER_BY_ID_LOCKED if lock else _ORDER_BY_ID
    return _order.first(connection(tx).execute(query, {"order_id": order_id}))


def add_order(tx: Transaction, order: OrderReplica) -> bool:
    """Record a new order; False when it is known already (a redelivered event)."""
    conn = connection(tx)
    return insert_new(
        conn, payment_orders, dict(zip(_ORDER_COLUMNS, _order_row(order), strict=True))
    )


def add_new_orders(tx: Transaction, new: list[OrderReplica]) -> None:
    """`add_order` for many; those known already are left as they are."""
    conn = connection(tx)
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
    "seller_id",
    "ticket_id",
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
        order.seller_id,
        order.ticket_id,
    )


def save_order_status(
    tx: Transaction, order_id: str, status: str, version: int, reason: str | None
) -> None:
    conn = connection(tx)
    conn.execute(
        update(payment_orders)
        .where(payment_orders.c.id == order_id)
        .values(status=status, version=version, cancel_reason=reason)
    )


def by_idempotency_key(tx: Transaction, key: str) -> Payment | None:
    query = select(payments).where(payments.c.idempotency_key == key)
    return _payment.first(connection(tx).execute(query))


def by_provider_ref(tx: Transaction, provider_ref: str) -> Payment | None:
    """The successful (or refunded) attempt the provider knows by this reference."""
    query = select(payments).where(payments.c.provider_ref == provider_ref)
    return _payment.first(connection(tx).execute(query.order_by(payments.c.created_at.desc())))


def add_notification(tx: Transaction, notification_id: str, kind: str, now: datetime) -> bool:
    """Record a provider's notification; False when it is known already."""
    values = {"id": notification_id, "kind": kind, "received_at": now}
    return insert_new(connection(tx), provider_notifications, values)
