"""Waitlist use cases: join a reserved ticket's line, leave it, see your places. Offers are
made where orders end (orders.service), in the same transaction as the ending."""

from __future__ import annotations

from dataclasses import replace

from openticket.core.errors import Conflict, NotFound
from openticket.core.ids import is_id, new_id
from openticket.core.orders import repository as orders
from openticket.core.orders import service as order_service
from openticket.core.orders.waitlist import repository
from openticket.core.orders.waitlist.model import (
    ENTRIES_PER_USER_MAX,
    LEFT,
    OFFERED,
    WAITING,
    Entry,
    Place,
)
from openticket.core.ports import Transaction

LIST_LIMIT = 200


def join(tx: Transaction, user_id: str, ticket_id: str, offer_seconds: int) -> Place:
    ticket, holder, _ = order_service.open_listing(
        tx, user_id, ticket_id, "You cannot join the waitlist of your own ticket"
    )
    if holder is None:
        raise Conflict("Ticket is available: reserve it instead", "ticket_id")
    if holder.user_id == user_id:
        raise Conflict("You hold this ticket's reservation already", "ticket_id")
    if repository.active_of_user(tx, ticket.id, user_id) is not None:
        raise Conflict("You are already in this ticket's waitlist", "ticket_id")
    if repository.active_count(tx, user_id) >= ENTRIES_PER_USER_MAX:
        raise Conflict(f"You are in {ENTRIES_PER_USER_MAX} waitlists already: leave one first")
    entry = Entry(
        id=new_id(),
        ticket_id=ticket.id,
        ticket_round=ticket.round,
        ticket_title=ticket.title,
        user_id=user_id,
        line=repository.next_line(tx, ticket.id, ticket.round),
        status=WAITING,
        order_id=None,
        offer_seconds=offer_seconds,
        joined_at=tx.now,
    )
    repository.add(tx, entry)  # the unique indexes are the real guard
    return _place(tx, entry)


def leave(tx: Transaction, user_id: str, ticket_id: str) -> Entry:
    """Leave the ticket's line; an offer you hold ends and goes to the next."""
    ticket = orders.get_ticket(tx, ticket_id, lock=True) if is_id(ticket_id) else None
    entry = None if ticket is None else repository.active_of_user(tx, ticket.id, user_id)
    if entry is None:
        raise NotFound("You are not in this ticket's waitlist", "ticket_id")
    offer = None
    if entry.status == OFFERED and entry.order_id is not None:
        offer = order_service.lock_with_ticket(tx, entry.order_id)
    if offer is not None and offer.is_overdue(tx.now):
        order_service.expire(tx, offer)  # its window is over: it passes on as it would
    elif offer is not None and offer.is_open():
        order_service.cancel_order(tx, user_id, offer.id)
    repository.set_status(tx, entry.id, LEFT)
    return replace(entry, status=LEFT)


def entries_of(tx: Transaction, user_id: str) -> list[Place]:
    """Your waitlist entries, newest first, with your place in each line you wait in."""
    return [_place(tx, entry) for entry in repository.of_user(tx, user_id, LIST_LIMIT)]


def _place(tx: Transaction, entry: Entry) -> Place:
    if entry.status == WAITING:
        return Place(entry, repository.waiting_ahead(tx, entry) + 1, None)
    if entry.status == OFFERED and entry.order_id is not None:
        offer = orders.get(tx, entry.order_id)
        return Place(entry, None, None if offer is None else offer.expires_at)
    return Place(entry, None, None)
