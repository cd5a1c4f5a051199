"""Order rules: statuses, transitions, ownership, the expiry window."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from openticket.core.errors import Conflict, Forbidden
from openticket.core.money import Money

CREATED = "created"
AWAITING_PAYMENT = "awaiting:payment"
COMPLETE = "complete"
CANCELLED = "cancelled"

OPEN_STATUSES = (CREATED, AWAITING_PAYMENT)
# An order in one of these statuses holds its ticket; the database allows one per ticket.
LIVE_STATUSES = (CREATED, AWAITING_PAYMENT, COMPLETE)

REASON_CANCELLED = "cancelled"
REASON_EXPIRED = "expired"


class TicketReplica(NamedTuple):  # a tuple, not a frozen dataclass: imports make one per row
    id: str
    title: str
    price: Money
    owner_id: str
    version: int


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

    def check_owner(self, user_id: str) -> None:
        if self.user_id != user_id:
            raise Forbidden("Not Authorized: this order belongs to another user")

    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open() and self.expires_at <= now

    def cancelled(self) -> Order:
        if self.status == COMPLETE:
            raise Conflict("Cannot cancel an order that has been paid")
        if self.status == CANCELLED:
            raise Conflict("Order has already been cancelled")
        return replace(self, status=CANCELLED, version=self.version + 1)

    def completed(self) -> Order:
        return replace(self, status=COMPLETE, version=self.version + 1)
