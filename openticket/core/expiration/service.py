"""Expiration use cases: fire a due expiration; list what is pending."""

from __future__ import annotations

from datetime import datetime

from openticket.core import events
from openticket.core.expiration import repository
from openticket.core.ports import Transaction


def fire(tx: Transaction, order_id: str) -> bool:
    """Announce that an order's window is over, once. False if it was already handled."""
    if not repository.remove(tx, order_id):
        return False
    tx.emit(events.EXPIRATION_COMPLETE, events.ExpirationComplete(order_id=order_id))
    return True


def pending(tx: Transaction) -> list[tuple[str, datetime]]:
    return repository.all_pending(tx)


def fire_due(tx: Transaction, until: datetime, limit: int) -> int:
    """Fire every expiration due by `until` (at most `limit`); how many fired."""
    order_ids = repository.due(tx, until, limit)
    for order_id in order_ids:
        fire(tx, order_id)
    return len(order_ids)
