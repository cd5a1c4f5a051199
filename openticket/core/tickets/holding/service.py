"""Holding use cases: the wallet, a sale's new holder, resale, gifts, verifying and checking
in codes. A ticket's row is locked before its holding (the same order everywhere)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from openticket.core import events
from openticket.core.errors import Conflict, InvalidInput, NotFound
from openticket.core.ids import is_id
from openticket.core.money import Money
from openticket.core.ports import Transaction
from openticket.core.signing_keys import KeyRing
from openticket.core.tickets import repository as tickets
from openticket.core.tickets.holding import codes, repository
from openticket.core.tickets.holding.model import (
    GIFT,
    REFUND,
    SALE,
    Holding,
    Transfer,
    check_can_check_in,
    check_staff_candidate,
    first_holding,
)
from openticket.core.tickets.model import AVAILABLE, RESERVED, SOLD, Ticket
from openticket.core.tickets.service import event_data

VALID, REVOKED, USED, INVALID = "valid", "revoked", "used", "invalid"


class Verification(NamedTuple):
    status: str
    ticket_id: str | None
    title: str | None
    checked_in_at: datetime | None


def wallet(tx: Transaction, user_id: str) -> list[tuple[Holding, Ticket]]:
    found = []
    for holding in repository.held_by(tx, user_id):
        ticket = tickets.get(tx, holding.id)
        if ticket is not None:
            found.append((holding, ticket))
    return found


def held(
    tx: Transaction, user_id: str, ticket_id: str, *, lock: bool = False
) -> tuple[Holding, Ticket]:
    """The ticket and its holding, when `user_id` holds it (both locked with `lock`)."""
    ticket = tickets.get(tx, ticket_id, lock=lock) if is_id(ticket_id) else None
    holding = repository.get(tx, ticket_id, lock=lock) if ticket is not None else None
    if ticket is None or holding is None:
        raise NotFound("You do not hold this ticket", "ticket_id")
    holding.check_held_by(user_id)
    return holding, ticket


def code_of(tx: Transaction, ring: KeyRing, holding: Holding) -> str:
    return codes.issue(codes.code_key(ring.signing_key(tx)), holding.id, holding.serial)


def public_keys(tx: Transaction, ring: KeyRing) -> dict[str, bytes]:
    return {key.kid: codes.code_key(key).public_bytes() for key in ring.verifying_keys(tx)}


def on_sale(tx: Transaction, ticket: Ticket, buyer_id: str, order_id: str) -> None:
    """The buyer of a completed order holds the ticket (`ticket`, locked, is sold to them):
    a first sale makes the holding, a resale passes it on and revokes the seller's code."""
    holding = repository.get(tx, ticket.id, lock=True)
    if holding is None:
        new = first_holding(ticket.id, buyer_id, ticket.owner_id, ticket.price, order_id, tx.now)
        repository.add(tx, new)
        seller, revoked = ticket.owner_id, None
    else:
        new = holding.passed_to(buyer_id, ticket.price, ticket.price, order_id, tx.now)
        repository.save(tx, new)
        seller, revoked = holding.holder_id, holding.serial
    repository.record_transfer(tx, new, seller, SALE, ticket.price, tx.now)
    _announce_transfer(tx, new, revoked, SALE)


def _announce_transfer(tx: Transaction, holding: Holding, revoked: int | None, kind: str) -> None:
    data: events.TicketTransferred = {
        "id": holding.id,
        "serial": holding.serial,
        "revoked_serial": revoked,
        "kind": kind,
    }
    tx.emit(events.TICKET_TRANSFERRED, data)


def resell(tx: Transaction, user_id: str, ticket_id: str, price: str, cap_percent: int) -> Ticket:
    holding, ticket = held(tx, user_id, ticket_id, lock=True)
    holding.check_unused()
    if ticket.status == RESERVED:
        raise Conflict("Ticket is reserved: a buyer is paying for it", "ticket_id")
    money = Money.parse(price, holding.basis.currency)
    holding.check_resale_price(money, cap_percent)
    # Listed already: a new price for the same listing (its round stays).
    listed = ticket.relisted(user_id, money, holding.serial)
    tickets.save(tx, listed, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(listed))
    return listed


def withdraw(tx: Transaction, user_id: str, ticket_id: str) -> Ticket:
    """Take the holder's resale off sale."""
    _holding, ticket = held(tx, user_id, ticket_id, lock=True)
    if ticket.status == RESERVED:
        raise Conflict("Ticket is reserved: a buyer is paying for it", "ticket_id")
    if ticket.status != AVAILABLE:
        raise Conflict("Ticket is not listed for resale", "ticket_id")
    withdrawn = ticket.withdrawn()
    tickets.save(tx, withdrawn, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(withdrawn))
    return withdrawn


def give(tx: Transaction, user_id: str, ticket_id: str, recipient_id: str) -> Ticket:
    """Pass the ticket to another user, free: they hold it with a new code."""
    if recipient_id == user_id:
        raise InvalidInput("You hold this ticket already", "to")
    holding, ticket = held(tx, user_id, ticket_id, lock=True)
    holding.check_unused()
    _check_not_listed(ticket, user_id)
    free = Money(0, holding.basis.currency)
    new = holding.passed_to(recipient_id, free, holding.basis, None, tx.now)
    repository.save(tx, new)
    repository.record_transfer(tx, new, user_id, GIFT, free, tx.now)
    _announce_transfer(tx, new, holding.serial, GIFT)
    given: events.TicketGiven = {
        "id": ticket.id,
        "title": ticket.title,
        "from_user_id": user_id,
        "to_user_id": recipient_id,
    }
    tx.emit(events.TICKET_GIVEN, given)
    return ticket


def refund_sale(tx: Transaction, seller_id: str, order_id: str) -> Ticket:
    """The seller of a completed order undoes it, before the ticket is used: the buyer's code
    is revoked and the ticket is the seller's again (held, not listed); the orders domain
    then refunds the order (TICKET_SALE_REFUNDED), and payments the charge and the payout."""
    sale = repository.sale_of_order(tx, order_id) if is_id(order_id) else None
    if sale is None:
        raise NotFound("No sale of yours with this order id", "order_id")
    ticket = tickets.get(tx, sale.ticket_id, lock=True)
    holding = repository.get(tx, sale.ticket_id, lock=True)
    assert ticket is not None and holding is not None  # a sale made both
    holding.check_refundable_by(order_id, seller_id, sale)
    if ticket.status != SOLD:
        raise Conflict(
            "The buyer has listed this ticket for resale: it cannot be refunded while listed",
            "order_id",
        )
    returned = holding.returned_to(seller_id, sale.price, tx.now)
    repository.save(tx, returned)
    repository.record_transfer(
        tx, returned, holding.holder_id, REFUND, sale.price, tx.now, order_id
    )
    _announce_transfer(tx, returned, holding.serial, REFUND)
    back = ticket.returned_to(seller_id)
    tickets.save(tx, back, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(back))
    refunded: events.TicketSaleRefunded = {"id": ticket.id, "order_id": order_id}
    tx.emit(events.TICKET_SALE_REFUNDED, refunded)
    return back


def _check_not_listed(ticket: Ticket, holder_id: str) -> None:
    if ticket.status == RESERVED:
        raise Conflict("Ticket is reserved: a buyer is paying for it", "ticket_id")
    if ticket.status != SOLD:
        raise Conflict("Ticket is listed for resale: cancel the resale first", "ticket_id")


def verify(tx: Transaction, ring: KeyRing, code: str) -> Verification:
    claim = codes.read(code, public_keys(tx, ring))
    if claim is None:
        return Verification(INVALID, None, None, None)
    ticket = tickets.get(tx, claim.ticket_id)
    holding = repository.get(tx, claim.ticket_id)
    if ticket is None or holding is None or claim.serial > holding.serial:
        return Verification(INVALID, None, None, None)
    if claim.serial < holding.serial:
        return Verification(REVOKED, ticket.id, ticket.title, None)
    if holding.checked_in_at is not None:
        return Verification(USED, ticket.id, ticket.title, holding.checked_in_at)
    return Verification(VALID, ticket.id, ticket.title, None)


def check_in(tx: Transaction, ring: KeyRing, user_id: str, code: str) -> Holding:
    """Mark the ticket of a valid code used, once; by its issuer or their staff."""
    claim = codes.read(code, public_keys(tx, ring))
    if claim is None:
        raise InvalidInput("Not a valid ticket code", "code")
    ticket = tickets.get(tx, claim.ticket_id, lock=True)
    holding = repository.get(tx, claim.ticket_id, lock=True)
    if ticket is None or holding is None or claim.serial > holding.serial:
        raise InvalidInput("Not a valid ticket code", "code")
    check_can_check_in(
        holding.issuer_id, user_id, repository.is_staff(tx, holding.issuer_id, user_id)
    )
    if claim.serial < holding.serial:
        raise Conflict("This code was revoked: the ticket has changed hands", "code")
    holding.check_unused()
    if ticket.status != SOLD:  # a holder at the door must not sell it on afterwards
        raise Conflict("Ticket is listed for resale: its holder must cancel the resale", "code")
    used = holding.checked_in(tx.now)
    repository.save(tx, used)
    data: events.TicketCheckedIn = {
        "id": used.id,
        "serial": used.serial,
        "checked_in_at": tx.now.isoformat(),
    }
    tx.emit(events.TICKET_CHECKED_IN, data)
    return used


def add_staff(tx: Transaction, issuer_id: str, staff_id: str) -> datetime:
    """When this person joined the issuer's check-in staff."""
    check_staff_candidate(issuer_id, staff_id)
    return repository.add_staff(tx, issuer_id, staff_id, tx.now)


def remove_staff(tx: Transaction, issuer_id: str, staff_id: str) -> None:
    """From now on this person checks in none of the issuer's tickets."""
    if not repository.remove_staff(tx, issuer_id, staff_id):
        raise not_staff()


def not_staff() -> NotFound:
    return NotFound("This user is not on your check-in staff", "email")


def staff_of(tx: Transaction, issuer_id: str) -> list[tuple[str, datetime]]:
    return repository.staff_of(tx, issuer_id)


def chain(tx: Transaction, user_id: str) -> list[Transfer]:
    return repository.transfers_of(tx, user_id)


def titles(tx: Transaction, ticket_ids: list[str]) -> dict[str, str]:
    found = (tickets.get(tx, ticket_id) for ticket_id in dict.fromkeys(ticket_ids))
    return {ticket.id: ticket.title for ticket in found if ticket is not None}
