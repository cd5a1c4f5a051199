"""Tickets' reactions to order events: lock, unlock, sell. Order events are applied in the
order's version order, and a cancellation only unlocks the ticket if that order holds it.

An order is made against the orders domain's replica of the listing, so by the time it
arrives here the listing may be gone (taken off sale, sold, listed again, repriced). Such an
order is refused (TICKET_ORDER_REFUSED): the orders domain cancels it, and payments refunds
whatever it was charged. This domain, which knows whether a code was used, has the last word.
"""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

from openticket.core import events
from openticket.core.errors import RetryLater
from openticket.core.events import Envelope, EventData, payload
from openticket.core.money import money_from_contract
from openticket.core.ports import BatchHandler, Handler, Transaction
from openticket.core.tickets import repository
from openticket.core.tickets.holding import service as holding
from openticket.core.tickets.model import RESERVED, Ticket
from openticket.core.tickets.service import event_data
from openticket.core.versions import is_next_version

REFUSED = "refused"  # an order's status here once this domain refused it


def _refusal(ticket: Ticket | None, data: events.OrderCreated) -> events.TicketOrderRefused | None:
    """What to answer an order the ticket cannot take; None when it can be locked for it.
    RetryLater while the ticket is unknown or reserved by another order (that one ends)."""
    ticket_id = data["ticket"]["id"]
    if ticket is None:
        raise RetryLater(f"ticket {ticket_id} not known yet")
    price = money_from_contract(data["ticket"]["price"], data["ticket"]["currency"])
    reason = ticket.refusal(data.get("round"), price)
    if reason is None and ticket.status == RESERVED and ticket.order_id != data["id"]:
        raise RetryLater(f"ticket {ticket_id} still held by order {ticket.order_id}")
    if reason is None:
        return None
    return {"id": ticket_id, "order_id": data["id"], "reason": reason}


def on_order_created(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCreated)
    order_id, ticket_id = data["id"], data["ticket"]["id"]
    # Recorded first, in one statement; the RetryLater below rolls it back with the handler.
    if not repository.add_order(tx, order_id, ticket_id, int(data["version"]), data["status"]):
        return  # applied already
    ticket = repository.get(tx, ticket_id, lock=True)
    refusal = _refusal(ticket, data)
    if refusal is not None:
        repository.save_order(tx, order_id, int(data["version"]), REFUSED)
        tx.emit(events.TICKET_ORDER_REFUSED, refusal)
        return
    assert ticket is not None
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
    answers: list[tuple[str, EventData, str]] = []  # (subject, data, cause), in event order
    for envelope, data in run:
        order_id, ticket_id = data["id"], data["ticket"]["id"]
        ticket = current.get(ticket_id)
        refusal = _refusal(ticket, data)
        if refusal is not None:
            repository.save_order(tx, order_id, int(data["version"]), REFUSED)
            answers.append((events.TICKET_ORDER_REFUSED, refusal, envelope.id))
            continue
        assert ticket is not None
        current[ticket_id] = ticket.locked_by(order_id)
        locked.append(current[ticket_id])
        answers.append((events.TICKET_UPDATED, event_data(current[ticket_id]), envelope.id))
    repository.save_many(tx, locked, tx.now)
    for subject, group in groupby(answers, key=itemgetter(0)):
        same = list(group)
        tx.emit_many(subject, [data for _, data, _ in same], [cause for _, _, cause in same])


def _apply_order_change(
    tx: Transaction, data: events.OrderCancelled | events.OrderCompleted, status: str
) -> str | None:
    """Record a versioned order change: the order's status before it, or None when the
    change is a duplicate of one already applied."""
    order_id, version = data["id"], int(data["version"])
    known = repository.order_state(tx, order_id)
    if not is_next_version(f"order {order_id}", version, None if known is None else known[0]):
        return None
    assert known is not None  # is_next_version asks to retry an order not known yet
    repository.save_order(tx, order_id, version, status)
    return known[1]


def on_order_cancelled(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCancelled)
    if _apply_order_change(tx, data, "cancelled") is None:
        return
    ticket = repository.get(tx, data["ticket"]["id"], lock=True)
    if ticket is None or ticket.order_id != data["id"] or ticket.status != RESERVED:
        return  # a stale cancellation must not release someone else's reservation
    offer_id = data.get("offered_to")
    if offer_id is not None and repository.add_order(tx, offer_id, ticket.id, 0, "created"):
        # Straight to the first of its waitlist, never on sale in between (a watcher would be
        # told of a listing nobody can buy). The offer's own order:created is then known.
        changed = ticket.locked_by(offer_id)
    else:
        changed = ticket.unlocked()
    repository.save(tx, changed, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(changed))


def on_order_completed(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCompleted)
    before = _apply_order_change(tx, data, "complete")
    if before is None:
        return
    if before == REFUSED:
        # Paid before the orders domain heard of the refusal: it refunds the order when it
        # does, and the ticket stays with whoever holds it.
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
