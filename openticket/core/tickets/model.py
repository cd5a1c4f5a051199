"""Ticket rules: titles, statuses, who may edit."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from openticket.core.errors import Conflict, Forbidden, InvalidInput
from openticket.core.money import Money

TITLE_MAX = 200

AVAILABLE = "available"
RESERVED = "reserved"
SOLD = "sold"


SORTS = ("listed", "price", "-price", "title", "-title")  # a listing's orders, "-": descending


class Ticket(NamedTuple):  # a tuple, not a frozen dataclass: imports make one per row
    id: str
    title: str
    price: Money
    owner_id: str
    version: int
    status: str
    order_id: str | None
    external_id: str | None = None
    # How many times it was sold before this listing: a holder's resale is round N after its
    # Nth sale, so the orders domain's one live order per ticket is one per round.
    round: int = 0

    def check_editable_by(self, user_id: str) -> None:
        if self.owner_id != user_id:
            raise Forbidden("Not Authorized: only the ticket's owner can edit it")
        if self.round > 0:  # its title and currency are the issuer's; its price is capped
            raise Forbidden(
                "A resale keeps the issuer's title and currency: change its price with "
                "`openticket tickets resell`"
            )
        if self.status == RESERVED:
            raise Conflict("Cannot edit a reserved ticket")
        if self.status == SOLD:
            raise Conflict("Cannot edit a sold ticket")

    def edited(self, title: str | None, price: Money | None) -> Ticket:
        return self._replace(
            title=self.title if title is None else title,
            price=self.price if price is None else price,
            version=self.version + 1,
        )

    def refusal(self, order_round: int | None, order_price: Money) -> str | None:
        """Why a new order cannot have this ticket, which it was not locked for: the buyer
        reserved the listing as the orders domain last saw it, and that listing was taken off
        sale, sold, listed again by a new holder or repriced meanwhile. None if it can (a
        ticket reserved by another order is a wait, not a refusal). `order_round` is None for
        orders written before rounds existed. A round only grows, so a listing of another
        round is gone for good, whoever holds the ticket now."""
        if order_round is not None and order_round != self.round:
            return "the ticket was listed again by its new holder"
        if self.status == SOLD:
            return "the ticket was taken off sale or sold"
        if self.status == AVAILABLE and self.price != order_price:
            return f"its seller changed the price to {self.price}"
        return None

    def locked_by(self, order_id: str) -> Ticket:
        return self._replace(status=RESERVED, order_id=order_id, version=self.version + 1)

    def unlocked(self) -> Ticket:
        return self._replace(status=AVAILABLE, order_id=None, version=self.version + 1)

    def sold(self) -> Ticket:
        return self._replace(status=SOLD, version=self.version + 1)

    def relisted(self, seller_id: str, price: Money, round_: int) -> Ticket:
        """On sale again, by its holder (a resale)."""
        return self._replace(
            status=AVAILABLE,
            owner_id=seller_id,
            price=price,
            order_id=None,
            round=round_,
            version=self.version + 1,
        )

    def returned_to(self, seller_id: str) -> Ticket:
        """Its sale refunded: its seller's again, held, not listed."""
        return self._replace(
            status=SOLD, owner_id=seller_id, order_id=None, version=self.version + 1
        )

    def withdrawn(self) -> Ticket:
        """A resale taken off sale: held, not listed."""
        return self._replace(status=SOLD, version=self.version + 1)


@dataclass(slots=True)  # not frozen: one per row of a file, and frozen costs per field
class ImportRow:
    """One record of an import file as read, before any rule is applied. A reader that could
    not make sense of the record sets `problem` (the row is then reported, not written)."""

    line: int
    title: object = None
    price: object = None
    currency: object = None
    external_id: object = None
    problem: str | None = None
    problem_field: str | None = None
    item: int | None = None  # its place in a JSON array (1 for the first): one line holds many


def clean_title(title: str | None, field: str = "title") -> str:
    text = (title or "").strip()
    if not text:
        raise InvalidInput("Title is required", field)
    if len(text) > TITLE_MAX:
        raise InvalidInput(f"Title must be at most {TITLE_MAX} characters", field)
    # isprintable() is False for every control, format and line/paragraph separator (and a
    # few harmless characters), so the per-character check runs only for those titles.
    if not text.isprintable() and any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in text
    ):
        raise InvalidInput("Title must not contain control characters", field)
    return text
