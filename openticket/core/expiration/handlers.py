"""Expiration's reactions: schedule an order's end when it is placed, unschedule it when it ends."""

from __future__ import annotations

from datetime import datetime

from openticket.core import events
from openticket.core.clock import parse_isoformat
from openticket.core.events import Envelope, payload
from openticket.core.expiration import repository
from openticket.core.expiration.model import ExpiryTimer
from openticket.core.ports import BatchHandler, Handler, Transaction


def build_batch_handlers(timer: ExpiryTimer) -> dict[str, BatchHandler]:
    def on_orders_created(envelopes: list[Envelope], tx: Transaction) -> None:
        """on_order_created (below) for a run of events (a server's batch of reservations)."""
        orders = [payload(e, events.OrderCreated) for e in envelopes]
        ends = [(order["id"], parse_isoformat(order["expires_at"])) for order in orders]
        new = repository.add_many(tx, ends)

        def schedule() -> None:
            first: dict[str, datetime] = {}  # each order once, as its first event has it
            for order_id, expires_at in ends:
                first.setdefault(order_id, expires_at)
            for order_id, expires_at in first.items():
                if order_id in new:
                    timer.schedule(order_id, expires_at)

        tx.after_commit(schedule)

    return {events.ORDER_CREATED: on_orders_created}


def build_handlers(timer: ExpiryTimer) -> dict[str, Handler]:
    def on_order_created(envelope: Envelope, tx: Transaction) -> None:
        order = payload(envelope, events.OrderCreated)
        order_id, expires_at = order["id"], parse_isoformat(order["expires_at"])
        if repository.add(tx, order_id, expires_at):
            tx.after_commit(lambda: timer.schedule(order_id, expires_at))

    def on_order_ended(envelope: Envelope, tx: Transaction) -> None:
        ended = payload(envelope, events.OrderCancelled)  # or OrderCompleted: the same id
        repository.remove(tx, ended["id"])

    return {
        events.ORDER_CREATED: on_order_created,
        events.ORDER_CANCELLED: on_order_ended,
        events.ORDER_COMPLETED: on_order_ended,
    }
