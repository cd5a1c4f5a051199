"""Watch rules (a saved search: text in the title, at most a price, in a currency) and the
notifications a user gets: a listing that matches one of their watches, and news of their
own orders and payouts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from openticket.core.errors import InvalidInput
from openticket.core.money import Money, normalize_currency
from openticket.core.text import storable

SEARCH_MAX = 200
WATCHES_PER_USER = 50  # the database still compares every new listing with every watch
NOTIFICATIONS_LIMIT_MAX = 1000

# What a notification is about (its `kind`).
WATCH_MATCHED = "watch:matched"  # a listing appeared that one of your watches asks for
ORDER_EXPIRED = "order:expired"  # your order's window passed unpaid: the ticket is gone
# Your order ended without the ticket: its listing was gone when it arrived (`refused`), or
# its seller refunded the sale (`refunded`); a charge is given back.
ORDER_VOIDED = "order:voided"
TICKET_SOLD = "ticket:sold"  # a buyer paid for your listing
PAYOUT_CHANGED = "payout:updated"  # your payout was released or reversed
TICKET_RECEIVED = "ticket:received"  # another user gave you a ticket (`wallet transfer`)
WAITLIST_OFFERED = "waitlist:offered"  # a ticket you waited for is yours to pay, for a while
WAITLIST_OFFER_EXPIRED = "waitlist:offer_expired"  # that offer ended unpaid: the next has it


@dataclass(frozen=True)
class Listing:
    """A listing as the tickets domain announced it (ticket:created, ticket:updated)."""

    ticket_id: str
    round: int
    title: str
    price: Money
    seller_id: str
    available: bool


@dataclass(frozen=True)
class Watch:
    id: str
    user_id: str
    search: str
    max_price: Money | None
    currency: str | None  # only listings in this currency (set with a max price)
    created_at: datetime

    def matches(self, listing: Listing) -> bool:
        if not listing.available or listing.seller_id == self.user_id:
            return False
        if folded(self.search) not in folded(listing.title):
            return False
        if self.currency is not None and listing.price.currency != self.currency:
            return False
        return self.max_price is None or listing.price.minor <= self.max_price.minor


def folded(text: str) -> str:
    """Text as a search compares it: case folded (ß and SS alike), kept with each watch so
    that the database finds the watches a title holds (repository.watches_in_titles)."""
    return text.casefold()


def check_search(search: str | None) -> str:
    text = (search or "").strip()
    if not text:
        raise InvalidInput("Search text is required: the words a title must contain", "search")
    if len(text) > SEARCH_MAX:
        raise InvalidInput(f"Search text must be at most {SEARCH_MAX} characters", "search")
    if not storable(text) or not text.isprintable():
        raise InvalidInput("Search text must be printable text", "search")
    return text


def watch_terms(
    max_price: str | None, currency: str | None, default_currency: str
) -> tuple[Money | None, str | None]:
    """The price limit and currency of a watch: a max price is in `currency`, else in the
    marketplace's default; a currency alone limits the listings to it."""
    code = normalize_currency(currency) if currency else None
    if max_price is None or not str(max_price).strip():
        return None, code
    limit = Money.parse(max_price, code or default_currency, "max_price")
    return limit, limit.currency


class OrderParties(NamedTuple):
    """Who is on each side of an order, and what it is for (from order:created)."""

    id: str
    buyer_id: str
    seller_id: str | None  # None for orders made before payouts existed
    ticket_id: str
    title: str

    def about(self) -> dict[str, str]:
        return {"order_id": self.id, "ticket_id": self.ticket_id, "title": self.title}


@dataclass(frozen=True)
class Notification:
    seq: int  # its number in its user's stream, 1, 2, 3… (`--after`, SSE's Last-Event-ID)
    id: str
    user_id: str
    kind: str
    data: dict[str, Any]
    created_at: datetime
