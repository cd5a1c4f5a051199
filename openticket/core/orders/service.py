"""Order use cases: reserve, show, list, cancel, and lazy expiry."""

from __future__ import annotations

from datetime import timedelta

from openticket.core import events
from openticket.core.clock import isoformat_utc
from openticket.core.errors import Conflict, Forbidden, NotFound
from openticket.core.ids import is_id, new_id
from openticket.core.orders import repository
from openticket.core.orders.model import (
    COMPLETE,
    CREATED,
    REASON_CANCELLED,
    REASON_EXPIRED,
    REASON_REFUNDED,
    REASON_REFUSED,
    Order,
)
from openticket.core.ports import Transaction


def created_data(order: Order) -> events.OrderCreated:
    return {
        "id": order.id,
        "version": order.version,
        "user_id": order.user_id,
        "seller_id": order.seller_id,
        "status": order.status,
        "expires_at": isoformat_utc(order.expires_at),
        "ticket": {
            "id": order.ticket_id,
            "title": order.ticket_title,
            "price": order.price.format(),
            "currency": order.price.currency,
        },
        "round": order.ticket_round,
    }


def _change(order: Order) -> events.OrderChange:
    return {
        "id": order.id,
        "version": order.version,
        "user_id": order.user_id,
        "ticket": {"id": order.ticket_id},
    }


def _cancel(tx: Transaction, order: Order, reason: str) -> Order:
    cancelled = order.cancelled(expiring=reason == REASON_EXPIRED)
    repository.save(tx, cancelled)
    tx.emit(events.ORDER_CANCELLED, events.OrderCancelled(**_change(cancelled), reason=reason))
    return cancelled


def complete(tx: Transaction, order: Order, payment_id: str) -> Order:
    completed = order.completed()
    repository.save(tx, completed)
    change = events.OrderCompleted(**_change(completed), payment_id=payment_id)
    tx.emit(events.ORDER_COMPLETED, change)
    return completed


def expire(tx: Transaction, order: Order) -> Order:
    return _cancel(tx, order, REASON_EXPIRED)


def refuse(tx: Transaction, order: Order) -> Order | None:
    """The tickets domain could not give the order its ticket (the listing was gone when it
    arrived there): it ends, and payments refunds it if it was charged. None if it had ended."""
    return _end(tx, order.refused(), REASON_REFUSED)


def refund(tx: Transaction, order: Order) -> Order | None:
    """Its seller refunded the sale (the ticket is theirs again): payments refunds the charge
    and reverses the payout. None if it was not a completed sale."""
    return _end(tx, order.refunded(), REASON_REFUNDED)


def _end(tx: Transaction, ended: Order | None, reason: str) -> Order | None:
    if ended is None:
        return None
    repository.save(tx, ended)
    tx.emit(events.ORDER_CANCELLED, events.OrderCancelled(**_change(ended), reason=reason))
    return ended


def reserve(tx: Transaction, user_id: str, ticket_id: str, ttl_seconds: int) -> Order:
    # The replica row is this ticket's lock: reservations of one ticket take turns, those
    # of others run alongside (the unique index on live orders stays the last guard).
    ticket = repository.get_ticket(tx, ticket_id, lock=True) if is_id(ticket_id) else None
    if ticket is None:
        raise NotFound("Ticket not found", "ticket_id")
    if ticket.owner_id == user_id:
        raise Forbidden("You cannot reserve your own ticket", "ticket_id")
    if not ticket.on_sale:
        raise Conflict("Ticket has been sold", "ticket_id")
    holder = repository.live_for_ticket(tx, ticket_id, ticket.round)
    if holder is not None and holder.is_overdue(tx.now):
        expire(tx, holder)  # lazy expiry: the window is over whether or not a timer fired
        holder = None
    if holder is not None:
        if holder.status == COMPLETE:
            raise Conflict("Ticket has been sold", "ticket_id")
        raise Conflict("Ticket is already reserved", "ticket_id")
    order = Order(
        id=new_id(),
        user_id=user_id,
        ticket_id=ticket.id,
        ticket_title=ticket.title,
        price=ticket.price,
        status=CREATED,
        expires_at=tx.now + timedelta(seconds=ttl_seconds),
        version=0,
        ticket_round=ticket.round,
        seller_id=ticket.owner_id,
    )
    repository.add(tx, order, tx.now)  # the unique index is the real guard
    tx.emit(events.ORDER_CREATED, created_data(order))
    return order


def get_order(tx: Transaction, user_id: str, order_id: str, *, lock: bool = False) -> Order:
    order = repository.get(tx, order_id, lock=lock) if is_id(order_id) else None
    if order is None:
        raise NotFound("Order not found", "order_id")
    order.check_owner(user_id)
    return order


def show_order(tx: Transaction, user_id: str, order_id: str) -> Order:
    """An order as its buyer sees it now (lazy expiry: nothing is written)."""
    return get_order(tx, user_id, order_id).as_seen(tx.now)


def sold_order(tx: Transaction, seller_id: str, order_id: str) -> Order:
    """An order of one of the seller's listings, as its seller sees it."""
    order = repository.get(tx, order_id) if is_id(order_id) else None
    if order is None or order.seller_id != seller_id:
        raise NotFound("Order not found")
    return order


def list_orders(tx: Transaction, user_id: str) -> list[Order]:
    """A buyer's orders as they stand now (lazy expiry: nothing is written)."""
    return [order.as_seen(tx.now) for order in repository.for_user(tx, user_id)]


def cancel_order(tx: Transaction, user_id: str, order_id: str) -> Order:
    order = get_order(tx, user_id, order_id, lock=True)
    if order.is_overdue(tx.now):
        raise Conflict("Order has expired", "order_id")
    return _cancel(tx, order, REASON_CANCELLED)


def any_overdue(tx: Transaction) -> bool:
    return repository.any_overdue(tx, tx.now)


def expire_overdue(tx: Transaction) -> int:
    """Cancel every open order past its window (lazy expiry); return how many."""
    overdue = repository.overdue(tx, tx.now)
    for order in overdue:
        expire(tx, order)
    return len(overdue)
