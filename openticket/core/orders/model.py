"""Order rules: statuses, transitions, ownership, the expiry window."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from openticket.core.errors import Conflict, Forbidden
from openticket.core.money import Money

CREATED = "created"
AWAITING_PAYMENT = "awaiting:payment"
COMPLETE = "complete"
CANCELLED = "cancelled"  # by its buyer, or refused: its listing was gone (REASON_REFUSED)
EXPIRED = "expired"  # its window passed unpaid
REFUNDED = "refunded"  # paid, then its payment given back: the buyer did not get the ticket

OPEN_STATUSES = (CREATED, AWAITING_PAYMENT)
# An order in one of these statuses holds its ticket; the database allows one per ticket.
LIVE_STATUSES = (CREATED, AWAITING_PAYMENT, COMPLETE)
# An order awaiting a payment that is being charged waits for its outcome when its window
# ends (a success completes it; a failure makes it `created` again, and it expires), but not
# for ever: a provider that cannot tell the outcome for this long after the window does not
# keep the ticket from everyone (a charge that turns up later is refunded).
PAYMENT_HOLD = timedelta(hours=1)

REASON_CANCELLED = "cancelled"
REASON_EXPIRED = "expired"
REASON_REFUSED = "refused"  # the listing the buyer reserved was gone (tickets refused it)
REASON_REFUNDED = "refunded"  # its seller refunded the sale


class TicketReplica(NamedTuple):  # a tuple, not a frozen dataclass: imports make one per row
    id: str
    title: str
    price: Money
    owner_id: str
    version: int
    round: int = 0  # the ticket's sales before this listing (tickets.model.Ticket.round)
    on_sale: bool = True  # False once sold and not listed again (a resale taken off sale)


@dataclass(frozen=True)
class Order:
    id: str
    user_id: str
    ticket_id: str
    ticket_title: str
    price: Money
    status: str
    expires_at: datetime
    version: int
    payment_attempt: int = 0  # the latest payment attempt whose start or end is known
    ticket_round: int = 0  # which listing of the ticket it bought (TicketReplica.round)
    seller_id: str | None = None  # whose listing it was (None for orders before 0009)

    def check_owner(self, user_id: str) -> None:
        if self.user_id != user_id:
            raise Forbidden("Not Authorized: this order belongs to another user")

    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime) -> bool:
        if self.status == AWAITING_PAYMENT:
            return self.expires_at + PAYMENT_HOLD <= now
        return self.status == CREATED and self.expires_at <= now

    def as_seen(self, now: datetime) -> Order:
        """The order as a reader sees it at `now`: one past its window has expired, whether
        or not the worker has written that yet (lazy expiry)."""
        if not self.is_overdue(now):
            return self
        return replace(self, status=EXPIRED)

    def paying(self, attempt: int) -> Order | None:
        """The order while payment `attempt` is charged; None if that changes nothing (the
        order has ended, or a later attempt is known)."""
        if attempt <= self.payment_attempt or not self.is_open():
            return None
        return replace(self, status=AWAITING_PAYMENT, payment_attempt=attempt)

    def not_paid(self, attempt: int) -> Order | None:
        """The order once payment `attempt` charged nothing: payable again (and expiring)."""
        if attempt < self.payment_attempt or not self.is_open():
            return None
        return replace(self, status=CREATED, payment_attempt=attempt)

    def cancelled(self, *, expiring: bool = False) -> Order:
        if self.status == COMPLETE:
            raise Conflict("Cannot cancel an order that has been paid")
        if self.status == AWAITING_PAYMENT and not expiring:
            raise Conflict("Cannot cancel: a payment for this order is in progress")
        if self.status == CANCELLED:
            raise Conflict("Order has already been cancelled")
        if self.status == EXPIRED:
            raise Conflict("Order has expired")
        status = EXPIRED if expiring else CANCELLED
        return replace(self, status=status, version=self.version + 1)

    def refused(self) -> Order | None:
        """The order once the tickets domain refused it: an open one is cancelled, a paid one
        refunded (it was charged before the refusal arrived); None if it had ended."""
        if self.is_open():
            return replace(self, status=CANCELLED, version=self.version + 1)
        if self.status == COMPLETE:
            return replace(self, status=REFUNDED, version=self.version + 1)
        return None

    def refunded(self) -> Order | None:
        """Its seller refunded the sale; None if it was not a sale (any more)."""
        if self.status != COMPLETE:
            return None
        return replace(self, status=REFUNDED, version=self.version + 1)

    def completed(self) -> Order:
        return replace(self, status=COMPLETE, version=self.version + 1)
