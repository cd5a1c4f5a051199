"""Tickets' reactions to order events: lock, unlock, sell. Order events are applied in the
order's version order, and a cancellation only unlocks the ticket if that order holds it."""

from __future__ import annotations

from openticket.core import events
from openticket.core.errors import RetryLater
from openticket.core.events import Envelope
from openticket.core.tickets import repository
from openticket.core.tickets.model import RESERVED
from openticket.core.tickets.service import event_data
from openticket.store.uow import Handler, Tx


def on_order_created(envelope: Envelope, tx: Tx) -> None:
    data = envelope.data
    order_id, ticket_id = data["id"], data["ticket"]["id"]
    # Recorded first, in one statement; the RetryLater below rolls it back with the handler.
    if not repository.add_order(tx.conn, order_id, ticket_id, int(data["version"]), data["status"]):
        return  # applied already
    ticket = repository.get(tx.conn, ticket_id)
    if ticket is None:
        raise RetryLater(f"ticket {ticket_id} not known yet")
    if ticket.order_id is not None and ticket.order_id != order_id:
        raise RetryLater(f"ticket {ticket_id} still held by order {ticket.order_id}")
    locked = ticket.locked_by(order_id)
    repository.save(tx.conn, locked, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(locked))


def _apply_order_change(tx: Tx, envelope: Envelope, status: str) -> bool:
    """Record a versioned order change; False when it is a duplicate of one already applied."""
    data = envelope.data
    order_id, version = data["id"], int(data["version"])
    known = repository.order_version(tx.conn, order_id)
    if known is None:
        raise RetryLater(f"order {order_id} not seen yet")
    if version <= known:
        return False
    if version > known + 1:
        raise RetryLater(f"order {order_id} version {version} arrived before {known + 1}")
    repository.save_order(tx.conn, order_id, version, status)
    return True


def on_order_cancelled(envelope: Envelope, tx: Tx) -> None:
    if not _apply_order_change(tx, envelope, "cancelled"):
        return
    ticket = repository.get(tx.conn, envelope.data["ticket"]["id"])
    if ticket is None or ticket.order_id != envelope.data["id"] or ticket.status != RESERVED:
        return  # a stale cancellation must not release someone else's reservation
    unlocked = ticket.unlocked()
    repository.save(tx.conn, unlocked, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(unlocked))


def on_order_completed(envelope: Envelope, tx: Tx) -> None:
    if not _apply_order_change(tx, envelope, "complete"):
        return
    ticket = repository.get(tx.conn, envelope.data["ticket"]["id"])
    if ticket is None or ticket.order_id != envelope.data["id"]:
        raise RuntimeError(f"completed order {envelope.data['id']} does not hold its ticket")
    sold = ticket.sold()
    repository.save(tx.conn, sold, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(sold))


HANDLERS: dict[str, Handler] = {
    events.ORDER_CREATED: on_order_created,
    events.ORDER_CANCELLED: on_order_cancelled,
    events.ORDER_COMPLETED: on_order_completed,
}
