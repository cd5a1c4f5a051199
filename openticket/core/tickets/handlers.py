"""Tickets' reactions to order events: lock, unlock, sell. Order events are applied in the
order's version order, and a cancellation only unlocks the ticket if that order holds it."""

from __future__ import annotations

from openticket.core import events
from openticket.core.errors import RetryLater
from openticket.core.events import Envelope, payload
from openticket.core.ports import BatchHandler, Handler, Transaction
from openticket.core.tickets import repository
from openticket.core.tickets.holding import service as holding
from openticket.core.tickets.model import RESERVED, Ticket
from openticket.core.tickets.service import event_data
from openticket.core.versions import is_next_version


def on_order_created(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCreated)
    order_id, ticket_id = data["id"], data["ticket"]["id"]
    # Recorded first, in one statement; the RetryLater below rolls it back with the handler.
    if not repository.add_order(tx, order_id, ticket_id, int(data["version"]), data["status"]):
        return  # applied already
    ticket = repository.get(tx, ticket_id, lock=True)
    if ticket is None:
        raise RetryLater(f"ticket {ticket_id} not known yet")
    if ticket.order_id is not None and ticket.order_id != order_id:
        raise RetryLater(f"ticket {ticket_id} still held by order {ticket.order_id}")
    locked = ticket.locked_by(order_id)
    repository.save(tx, locked, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(locked))


def on_orders_created(envelopes: list[Envelope], tx: Transaction) -> None:
    """on_order_created for a run of events (a server's batch of reservations)."""
    orders = [(e, payload(e, events.OrderCreated)) for e in envelopes]
    new = repository.add_new_orders(
        tx,
        [(d["id"], d["ticket"]["id"], int(d["version"]), d["status"]) for _, d in orders],
    )
    # Each new order once, as its first event has it (a repeat is applied already).
    first: dict[str, tuple[Envelope, events.OrderCreated]] = {}
    for envelope, data in orders:
        if data["id"] in new:
            first.setdefault(data["id"], (envelope, data))
    run = list(first.values())
    current = repository.get_many(tx, [data["ticket"]["id"] for _, data in run])
    locked: list[Ticket] = []
    causes: list[str] = []
    for envelope, data in run:
        order_id, ticket_id = data["id"], data["ticket"]["id"]
        ticket = current.get(ticket_id)
        if ticket is None:
            raise RetryLater(f"ticket {ticket_id} not known yet")
        if ticket.order_id is not None and ticket.order_id != order_id:
            raise RetryLater(f"ticket {ticket_id} still held by order {ticket.order_id}")
        current[ticket_id] = ticket.locked_by(order_id)
        locked.append(current[ticket_id])
        causes.append(envelope.id)
    repository.save_many(tx, locked, tx.now)
    tx.emit_many(events.TICKET_UPDATED, [event_data(ticket) for ticket in locked], causes)


def _apply_order_change(
    tx: Transaction, data: events.OrderCancelled | events.OrderCompleted, status: str
) -> bool:
    """Record a versioned order change; False when it is a duplicate of one already applied."""
    order_id, version = data["id"], int(data["version"])
    if not is_next_version(f"order {order_id}", version, repository.order_version(tx, order_id)):
        return False
    repository.save_order(tx, order_id, version, status)
    return True


def on_order_cancelled(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCancelled)
    if not _apply_order_change(tx, data, "cancelled"):
        return
    ticket = repository.get(tx, data["ticket"]["id"], lock=True)
    if ticket is None or ticket.order_id != data["id"] or ticket.status != RESERVED:
        return  # a stale cancellation must not release someone else's reservation
    unlocked = ticket.unlocked()
    repository.save(tx, unlocked, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(unlocked))


def on_order_completed(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCompleted)
    if not _apply_order_change(tx, data, "complete"):
        return
    ticket = repository.get(tx, data["ticket"]["id"], lock=True)
    if ticket is None or ticket.order_id != data["id"]:
        raise RuntimeError(f"completed order {data['id']} does not hold its ticket")
    sold = ticket.sold()
    repository.save(tx, sold, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(sold))
    holding.on_sale(tx, sold, data["user_id"], data["id"])


HANDLERS: dict[str, Handler] = {
    events.ORDER_CREATED: on_order_created,
    events.ORDER_CANCELLED: on_order_cancelled,
    events.ORDER_COMPLETED: on_order_completed,
}

BATCH_HANDLERS: dict[str, BatchHandler] = {events.ORDER_CREATED: on_orders_created}
