"""The rules of holding a ticket: who may resell, give or check it in, and the resale cap."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import NamedTuple

from openticket.core.clock import isoformat_utc
from openticket.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from openticket.core.money import Money

SALE = "sale"
GIFT = "gift"
REFUND = "refund"  # a sale undone by its seller: the ticket goes back to them


class Holding(NamedTuple):
    id: str  # the ticket's
    holder_id: str
    issuer_id: str
    serial: int
    paid: Money
    basis: Money  # the resale cap's base: what was paid for it, passed on with a gift
    order_id: str | None
    acquired_at: datetime
    checked_in_at: datetime | None
    # The previous holder's paid and basis (minor units), while the latest sale can still be
    # refunded: a refund gives the ticket back to its seller on their own terms (the cap
    # must not grow by selling and refunding). None for a first sale: the issuer paid nothing.
    prior_paid_minor: int | None = None
    prior_basis_minor: int | None = None

    def check_held_by(self, user_id: str) -> None:
        if self.holder_id != user_id:
            raise NotFound("You do not hold this ticket", "ticket_id")

    def check_unused(self) -> None:
        if self.checked_in_at is not None:
            raise Conflict(f"Ticket already checked in at {isoformat_utc(self.checked_in_at)}")

    def cap(self, percent: int) -> Money:
        """The highest resale price: `percent` of the base, rounded down to the minor unit."""
        minor = (Decimal(self.basis.minor) * percent / 100).to_integral_value(ROUND_DOWN)
        return Money(int(minor), self.basis.currency)

    def check_resale_price(self, price: Money, percent: int) -> None:
        cap = self.cap(percent)
        if price.currency != cap.currency:
            raise InvalidInput(f"A resale is priced in {cap.currency}, as it was bought", "price")
        if price.minor > cap.minor:
            raise InvalidInput(
                f"Price above the resale cap of {cap.format()} {cap.currency} "
                f"({percent}% of {self.basis.format()})",
                "price",
            )

    def passed_to(
        self, holder_id: str, paid: Money, basis: Money, order_id: str | None, now: datetime
    ) -> Holding:
        """The next holder's: a new serial, so the previous holder's code is revoked."""
        return self._replace(
            holder_id=holder_id,
            serial=self.serial + 1,
            paid=paid,
            basis=basis,
            order_id=order_id,
            acquired_at=now,
            checked_in_at=None,
            prior_paid_minor=self.paid.minor,
            prior_basis_minor=self.basis.minor,
        )

    def check_refundable_by(self, order_id: str, seller_id: str, sale: Transfer) -> None:
        """Whether the sale of `order_id` (its record: `sale`) can be undone by `seller_id`."""
        if sale.from_id != seller_id:  # as for an id that is no order: existence is no one's
            raise NotFound("No sale of yours with this order id", "order_id")
        if self.holder_id == seller_id:
            raise Conflict("The ticket is yours again: this sale was refunded already")
        if self.order_id != order_id:
            raise Conflict(
                "The buyer no longer holds this ticket (it changed hands since): "
                "the sale cannot be refunded"
            )
        if self.serial > 1 and self.prior_basis_minor is None:
            # A resale recorded before refunds existed: the seller's own terms are unknown.
            raise Conflict("This resale was made before refunds existed: it cannot be refunded")
        self.check_unused()

    def returned_to(self, seller_id: str, price: Money, now: datetime) -> Holding:
        """Back to the seller of the refunded sale (at `price`), on the terms they held it on
        (the issuer, who paid nothing, at the sale's price as the cap's base)."""
        currency = self.paid.currency
        paid = Money(self.prior_paid_minor or 0, currency)
        basis_minor = price.minor if self.prior_basis_minor is None else self.prior_basis_minor
        return self._replace(
            holder_id=seller_id,
            serial=self.serial + 1,
            paid=paid,
            basis=Money(basis_minor, currency),
            order_id=None,
            acquired_at=now,
            checked_in_at=None,
            prior_paid_minor=None,
            prior_basis_minor=None,
        )

    def checked_in(self, now: datetime) -> Holding:
        return self._replace(checked_in_at=now)


class Transfer(NamedTuple):
    """A change of holder, kept for both sides' history."""

    ticket_id: str
    from_id: str
    to_id: str
    kind: str
    serial: int
    price: Money
    order_id: str | None
    at: datetime


def first_holding(
    ticket_id: str, buyer_id: str, issuer_id: str, paid: Money, order_id: str, now: datetime
) -> Holding:
    return Holding(ticket_id, buyer_id, issuer_id, 1, paid, paid, order_id, now, None)


def check_staff_candidate(issuer_id: str, staff_id: str) -> None:
    if issuer_id == staff_id:
        raise InvalidInput("You check in your own tickets already", "email")


def check_can_check_in(issuer_id: str, user_id: str, is_staff: bool) -> None:
    if user_id != issuer_id and not is_staff:
        raise Forbidden("Not Authorized: only the ticket's issuer and their staff check in")
