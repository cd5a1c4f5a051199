"""Order use cases: reserve, show, list, cancel, and lazy expiry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from openticket.core import events
from openticket.core.clock import isoformat_utc
from openticket.core.errors import Conflict, Forbidden, NotFound
from openticket.core.ids import is_id, new_id
from openticket.core.orders import repository
from openticket.core.orders.known import KnownListings
from openticket.core.orders.model import (
    COMPLETE,
    CREATED,
    REASON_CANCELLED,
    REASON_EXPIRED,
    REASON_REFUNDED,
    REASON_REFUSED,
    Order,
    TicketReplica,
)
from openticket.core.orders.waitlist import repository as waitlist
from openticket.core.orders.waitlist.model import BOUGHT, OFFERED, PASSED
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


def _cancelled(order: Order, reason: str) -> events.OrderCancelled:
    return {
        "id": order.id,
        "version": order.version,
        "user_id": order.user_id,
        "ticket": {"id": order.ticket_id},
        "reason": reason,
    }


def _cancel(tx: Transaction, order: Order, reason: str) -> Order:
    cancelled = order.cancelled(expiring=reason == REASON_EXPIRED)
    repository.save(tx, cancelled)
    offer_expired = _end_offer(tx, cancelled)
    offer = _offer_next(tx, cancelled)
    change = _cancelled(cancelled, reason)
    if offer is not None:
        change["offered_to"] = offer.id
    if offer_expired:
        change["waitlist_offer"] = True
    tx.emit(events.ORDER_CANCELLED, change)
    if offer_expired and reason == REASON_EXPIRED:
        tx.emit(events.WAITLIST_OFFER_EXPIRED, _offer_data(cancelled))
    if offer is not None:
        tx.emit(events.ORDER_CREATED, created_data(offer))
        tx.emit(events.WAITLIST_OFFERED, _offer_data(offer))
    return cancelled


def _offer_data(offer: Order) -> events.WaitlistOffer:
    return {
        "ticket_id": offer.ticket_id,
        "order_id": offer.id,
        "user_id": offer.user_id,
        "expires_at": isoformat_utc(offer.expires_at),
    }


def _end_offer(tx: Transaction, ended: Order) -> bool:
    """If the order was a waitlist's offer, its waiter has passed; whether it was one."""
    entry = waitlist.for_order(tx, ended.id)
    if entry is None or entry.status != OFFERED:
        return False
    waitlist.set_status(tx, entry.id, PASSED)
    return True


def _offer_next(tx: Transaction, ended: Order) -> Order | None:
    """The order that gives the ended order's ticket to the first in its line, if anyone
    waits: the ticket goes from one to the other without being back on sale in between."""
    ticket = repository.get_ticket(tx, ended.ticket_id, lock=True)  # the line's lock
    if ticket is None:
        return None
    if ticket.round != ended.ticket_round:  # listed anew meanwhile: that listing was sold
        waitlist.close_line(tx, ticket.id, ended.ticket_round)
        return None
    if not ticket.on_sale:
        waitlist.close_line(tx, ticket.id, ticket.round)
        return None
    waiter = waitlist.first_waiting(tx, ticket.id, ticket.round)
    if waiter is None:
        return None
    offer = _new_order(ticket, waiter.user_id, tx.now + timedelta(seconds=waiter.offer_seconds))
    repository.add(tx, offer, tx.now)  # the ticket's one live order (the unique index)
    waitlist.set_status(tx, waiter.id, OFFERED, offer.id)
    return offer


def complete(tx: Transaction, order: Order, payment_id: str) -> Order:
    completed = order.completed()
    repository.save(tx, completed)
    entry = waitlist.for_order(tx, order.id)
    if entry is not None:
        waitlist.set_status(tx, entry.id, BOUGHT)
    waitlist.close_line(tx, order.ticket_id, order.ticket_round)
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
    if reason == REASON_REFUSED:  # the listing it was for is gone, and so is its line
        _end_offer(tx, ended)
        waitlist.close_line(tx, ended.ticket_id, ended.ticket_round)
    tx.emit(events.ORDER_CANCELLED, _cancelled(ended, reason))
    return ended


class OpenListing(NamedTuple):
    ticket: TicketReplica
    holder: Order | None  # its live order: open (a sold listing is a Conflict)
    expired_now: bool  # the holder before was past its window, and ended just now


def open_listing(
    tx: Transaction,
    user_id: str,
    ticket_id: str,
    own_ticket: str,
    known: KnownListings | None = None,
) -> OpenListing:
    """The listing, locked, and its live order (an open one: a sold listing is a Conflict).
    The replica row is the ticket's lock: its reservations and its waitlist take turns, other
    tickets' run alongside (the unique index on live orders stays the last guard). `own_ticket`:
    the refusal when it is the user's own. `known`: what a batch read for all its tickets."""
    if known is not None and known.knows(ticket_id):
        ticket = known.ticket(ticket_id)
    else:
        ticket = repository.get_ticket(tx, ticket_id, lock=True) if is_id(ticket_id) else None
    if ticket is None:
        raise NotFound("Ticket not found", "ticket_id")
    if ticket.owner_id == user_id:
        raise Forbidden(own_ticket, "ticket_id")
    if not ticket.on_sale:
        raise Conflict("Ticket has been sold", "ticket_id")
    holder = (
        known.holder(ticket)
        if known is not None and known.knows(ticket_id)
        else repository.live_for_ticket(tx, ticket_id, ticket.round)
    )
    if holder is not None and holder.is_overdue(tx.now) and known is not None:
        known.forget(ticket_id)  # expiring it writes: read it again, locked
        holder = repository.live_for_ticket(tx, ticket_id, ticket.round)
    expired_now = holder is not None and holder.is_overdue(tx.now)
    if holder is not None and expired_now:
        expire(tx, holder)  # lazy expiry: the window is over whether or not a timer fired
        holder = repository.live_for_ticket(tx, ticket_id, ticket.round)  # an offer, if any
    if holder is not None and holder.status == COMPLETE:
        raise Conflict("Ticket has been sold", "ticket_id")
    return OpenListing(ticket, holder, expired_now)


def _new_order(ticket: TicketReplica, user_id: str, expires_at: datetime) -> Order:
    return Order(
        id=new_id(),
        user_id=user_id,
        ticket_id=ticket.id,
        ticket_title=ticket.title,
        price=ticket.price,
        status=CREATED,
        expires_at=expires_at,
        version=0,
        ticket_round=ticket.round,
        seller_id=ticket.owner_id,
    )


def reserve(
    tx: Transaction,
    user_id: str,
    ticket_id: str,
    ttl_seconds: int,
    known: KnownListings | None = None,
) -> Order:
    ticket, holder, expired_now = open_listing(
        tx, user_id, ticket_id, "You cannot reserve your own ticket", known
    )
    if holder is not None and expired_now and holder.user_id == user_id:
        return holder  # its holder's window ended, and it went to this user, first in line
    if holder is not None:
        raise Conflict("Ticket is already reserved", "ticket_id")
    order = _new_order(ticket, user_id, tx.now + timedelta(seconds=ttl_seconds))
    if known is not None and known.holds_new_orders:
        known.add(order)  # written with the batch's others: the unique index is the real guard
    else:
        if known is not None:
            known.forget(ticket_id)
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


def lock_with_ticket(tx: Transaction, order_id: str) -> Order | None:
    """The order, locked after its ticket's replica: ending an order may offer its ticket to
    the waitlist, whose joiners lock the ticket first (the same order: no deadlock)."""
    order = repository.get(tx, order_id) if is_id(order_id) else None
    if order is None:
        return None
    repository.get_ticket(tx, order.ticket_id, lock=True)
    return repository.get(tx, order_id, lock=True)


def cancel_order(tx: Transaction, user_id: str, order_id: str) -> Order:
    order = lock_with_ticket(tx, order_id)
    if order is None:
        raise NotFound("Order not found", "order_id")
    order.check_owner(user_id)
    if order.is_overdue(tx.now):
        raise Conflict("Order has expired", "order_id")
    return _cancel(tx, order, REASON_CANCELLED)


def any_overdue(tx: Transaction) -> bool:
    return repository.any_overdue(tx, tx.now)


def expire_overdue(tx: Transaction) -> int:
    """Cancel every open order past its window (lazy expiry); return how many. Each is
    locked after its ticket, as every use case that may end an order locks them (an
    expiry may offer the ticket to its waitlist)."""
    expired = 0
    for candidate in repository.overdue(tx, tx.now):
        order = lock_with_ticket(tx, candidate.id)
        if order is not None and order.is_overdue(tx.now):  # nobody decided on it meanwhile
            expire(tx, order)
            expired += 1
    return expired
