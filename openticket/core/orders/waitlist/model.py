"""A ticket's waitlist: buyers in line for a reserved ticket, in the order they joined. When
the order holding the ticket ends unpaid, the ticket goes to the first of them as an order of
their own with a shorter window (an offer), and on to the next if that one passes too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WAITING = "waiting"
OFFERED = "offered"  # holds the ticket as an order of their own (`order_id`), for a while
BOUGHT = "bought"  # paid for the offer
PASSED = "passed"  # let the offer expire, or cancelled it: the next in line has it
LEFT = "left"  # left the line
CLOSED = "closed"  # the ticket was sold to someone else, or taken off sale

ACTIVE_STATUSES = (WAITING, OFFERED)
# A user stands in at most this many lines at once (each costs an index entry per ticket).
ENTRIES_PER_USER_MAX = 100


@dataclass(frozen=True)
class Entry:
    id: str
    ticket_id: str
    ticket_round: int  # the listing whose line it is (orders.model.TicketReplica.round)
    ticket_title: str
    user_id: str
    line: int  # 1, 2, 3… per listing, in the order of joining (unique: the line's order)
    status: str
    order_id: str | None  # the offer, once made
    offer_seconds: int  # the offer's window, as the marketplace set it when they joined
    joined_at: datetime


@dataclass(frozen=True)
class Place:
    """An entry as its user sees it: `place` is 1 for the next to be offered the ticket
    (None once not waiting)."""

    entry: Entry
    place: int | None
    offer_expires_at: datetime | None
