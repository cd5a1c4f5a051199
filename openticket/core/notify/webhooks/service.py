"""Webhook use cases: a user's endpoints (add, list, remove), their delivery logs, making the
deliveries of a piece of news, and recording how an attempt went."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from openticket.core.clock import isoformat_utc
from openticket.core.errors import Conflict, NotFound
from openticket.core.ids import is_id, new_id
from openticket.core.notify import repository as notify
from openticket.core.notify.webhooks import repository
from openticket.core.notify.webhooks.model import (
    ACTIVE,
    DELIVERED,
    FAILED,
    LEASE,
    PENDING,
    WEBHOOKS_PER_USER,
    Delivery,
    Webhook,
    check_kinds,
    check_url,
    new_secret,
    next_attempt,
)
from openticket.core.ports import Transaction

DELIVERIES_LIMIT_MAX = 500
ERROR_MAX = 300


@dataclass(frozen=True)
class Attempt:
    """How one POST went: the receiver's HTTP status, or why there was none."""

    status: int | None
    error: str | None = None
    reached: bool = True  # False: no connection was made (another address may answer)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


def check_room(tx: Transaction, user_id: str) -> None:
    if repository.count_of_user(tx, user_id) >= WEBHOOKS_PER_USER:
        raise Conflict(f"You have {WEBHOOKS_PER_USER} webhooks already: remove one first")


def add_webhook(tx: Transaction, user_id: str, url: str | None, kinds: list[str] | None) -> Webhook:
    checked, events = check_url(url), check_kinds(kinds)
    notify.lock_user(tx, user_id)  # the cap holds under concurrent adds
    check_room(tx, user_id)
    webhook = Webhook(new_id(), user_id, checked, new_secret(), events, ACTIVE, None, tx.now)
    repository.add(tx, webhook)
    return webhook


def webhooks_of(tx: Transaction, user_id: str) -> list[Webhook]:
    return repository.of_user(tx, user_id)


def _own(tx: Transaction, user_id: str, webhook_id: str) -> Webhook:
    webhook = repository.get(tx, webhook_id) if is_id(webhook_id) else None
    if webhook is None or webhook.user_id != user_id:
        raise NotFound("No webhook of yours with this id", "id")
    return webhook


def remove_webhook(tx: Transaction, user_id: str, webhook_id: str) -> None:
    repository.remove(tx, _own(tx, user_id, webhook_id).id)


def deliveries_of(tx: Transaction, user_id: str, webhook_id: str, limit: int) -> list[Delivery]:
    """The endpoint's delivery log, newest first."""
    webhook = _own(tx, user_id, webhook_id)
    return repository.deliveries_of(tx, webhook.id, min(max(limit, 1), DELIVERIES_LIMIT_MAX))


def enqueue(
    tx: Transaction, user_id: str, notification_id: str, kind: str, data: dict[str, Any]
) -> None:
    """A delivery of this news to each of the user's endpoints that asks for its kind, in
    the transaction that makes the news."""
    wanting = [w for w in repository.active_of_user(tx, user_id) if w.wants(kind)]
    made = []
    for webhook in wanting:
        delivery_id = new_id()
        body = {
            "id": delivery_id,
            "type": kind,
            "created_at": isoformat_utc(tx.now),
            "notification_id": notification_id,
            "data": data,
        }
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        made.append(
            Delivery(
                delivery_id, webhook.id, kind, text, PENDING, 0, tx.now, None, None, tx.now, None
            )
        )
    repository.add_deliveries(tx, made)


def claim_due(tx: Transaction, limit: int) -> list[tuple[Delivery, Webhook]]:
    return repository.claim_due(tx, tx.now, tx.now + LEASE, limit)


def any_due(tx: Transaction) -> bool:
    return repository.any_due(tx, tx.now)


def record(tx: Transaction, claimed: Delivery, attempt: Attempt) -> Delivery | None:
    """How an attempt went: delivered, to be tried again, or given up (a 410 turns its
    endpoint off). None if the delivery is no longer as claimed (its endpoint went, or the
    claim's lease ended and another sender claimed it again)."""
    delivery = repository.get_delivery(tx, claimed.id)
    if delivery is None or delivery.status != PENDING or delivery.attempts != claimed.attempts:
        return None
    error = None if attempt.error is None else attempt.error[:ERROR_MAX]
    seen = replace(delivery, last_status=attempt.status, last_error=error)
    if attempt.delivered:
        done = replace(seen, status=DELIVERED, delivered_at=tx.now)
    elif attempt.gone:
        done = replace(seen, status=FAILED)
        repository.disable(tx, delivery.webhook_id, "the receiver answered 410 Gone")
    else:
        again = next_attempt(delivery.created_at, delivery.attempts, tx.now)
        done = (
            replace(seen, status=FAILED) if again is None else replace(seen, next_attempt_at=again)
        )
    repository.save_delivery(tx, done)
    return done
