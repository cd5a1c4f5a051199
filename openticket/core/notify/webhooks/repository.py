from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from sqlalchemy import delete, func, select, update

from openticket.core.notify.webhooks.model import (
    ACTIVE,
    CANCELLED,
    DISABLED,
    PENDING,
    Delivery,
    Webhook,
)
from openticket.core.notify.webhooks.tables import webhook_deliveries as deliveries
from openticket.core.notify.webhooks.tables import webhooks
from openticket.core.ports import Transaction
from openticket.store.rows import Reader
from openticket.store.uow import connection

_webhook = Reader(Webhook)
_GONE = Webhook("", "", "", "", "", DISABLED, None, datetime.min)
_delivery = Reader(Delivery)


def add(tx: Transaction, webhook: Webhook) -> None:
    connection(tx).execute(webhooks.insert(), asdict(webhook))


def get(tx: Transaction, webhook_id: str) -> Webhook | None:
    query = select(webhooks).where(webhooks.c.id == webhook_id)
    return _webhook.first(connection(tx).execute(query))


def of_user(tx: Transaction, user_id: str) -> list[Webhook]:
    query = (
        select(webhooks)
        .where(webhooks.c.user_id == user_id)
        .order_by(webhooks.c.created_at, webhooks.c.id)
    )
    return [_webhook(row) for row in connection(tx).execute(query)]


def count_of_user(tx: Transaction, user_id: str) -> int:
    query = select(func.count()).where(webhooks.c.user_id == user_id)
    return int(connection(tx).execute(query).scalar_one())


def active_of_user(tx: Transaction, user_id: str) -> list[Webhook]:
    query = select(webhooks).where(webhooks.c.user_id == user_id, webhooks.c.status == ACTIVE)
    return [_webhook(row) for row in connection(tx).execute(query)]


def remove(tx: Transaction, webhook_id: str) -> None:
    conn = connection(tx)
    _cancel_pending(tx, webhook_id)
    conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))


def disable(tx: Transaction, webhook_id: str, reason: str) -> None:
    conn = connection(tx)
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(status=DISABLED, status_reason=reason)
    )
    _cancel_pending(tx, webhook_id)


def _cancel_pending(tx: Transaction, webhook_id: str) -> None:
    connection(tx).execute(
        update(deliveries)
        .where(deliveries.c.webhook_id == webhook_id, deliveries.c.status == PENDING)
        .values(status=CANCELLED)
    )


def add_deliveries(tx: Transaction, made: list[Delivery]) -> None:
    if made:
        connection(tx).execute(deliveries.insert(), [asdict(d) for d in made])


def claim_due(
    tx: Transaction, now: datetime, lease_until: datetime, limit: int
) -> list[tuple[Delivery, Webhook]]:
    """Pending deliveries due by `now` with their endpoints, each leased until `lease_until`
    and counted as an attempt; those another sender holds are skipped."""
    conn = connection(tx)
    query = (
        select(deliveries)
        .where(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= now)
        .order_by(deliveries.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    due = [_delivery(row) for row in conn.execute(query)]
    if not due:
        return []
    ids = [d.id for d in due]
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id.in_(ids))
        .values(next_attempt_at=lease_until, attempts=deliveries.c.attempts + 1)
    )
    endpoints = {
        row.id: _webhook(row)
        for row in conn.execute(
            select(webhooks).where(webhooks.c.id.in_({d.webhook_id for d in due}))
        )
    }
    # Made while its endpoint was being removed or turned off: never sent.
    orphans = [d.id for d in due if endpoints.get(d.webhook_id, _GONE).status != ACTIVE]
    if orphans:
        conn.execute(
            update(deliveries).where(deliveries.c.id.in_(orphans)).values(status=CANCELLED)
        )
    return [
        (replace(d, attempts=d.attempts + 1, next_attempt_at=lease_until), endpoints[d.webhook_id])
        for d in due
        if d.id not in orphans
    ]


def get_delivery(tx: Transaction, delivery_id: str) -> Delivery | None:
    query = select(deliveries).where(deliveries.c.id == delivery_id).with_for_update()
    return _delivery.first(connection(tx).execute(query))


def save_delivery(tx: Transaction, delivery: Delivery) -> None:
    values = asdict(delivery)
    values.pop("id")
    connection(tx).execute(update(deliveries).where(deliveries.c.id == delivery.id).values(values))


def deliveries_of(tx: Transaction, webhook_id: str, limit: int) -> list[Delivery]:
    query = (
        select(deliveries)
        .where(deliveries.c.webhook_id == webhook_id)
        .order_by(deliveries.c.created_at.desc(), deliveries.c.id.desc())
        .limit(limit)
    )
    return [_delivery(row) for row in connection(tx).execute(query)]


def any_due(tx: Transaction, now: datetime) -> bool:
    query = select(deliveries.c.id).where(
        deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= now
    )
    return connection(tx).execute(query.limit(1)).first() is not None
