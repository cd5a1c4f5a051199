"""Ticket use cases: list, show, create, update."""

from __future__ import annotations

from openticket.core import events
from openticket.core.errors import ErrorItem, InvalidInput, NotFound
from openticket.core.ids import is_id, new_id
from openticket.core.money import Money, normalize_currency
from openticket.core.ports import Transaction
from openticket.core.tickets import repository
from openticket.core.tickets.model import AVAILABLE, Ticket, clean_title
from openticket.core.tickets.query import TicketQuery


def event_data(ticket: Ticket) -> events.TicketChanged:
    return {
        "id": ticket.id,
        "version": ticket.version,
        "title": ticket.title,
        "price": ticket.price.format(),
        "currency": ticket.price.currency,
        "user_id": ticket.owner_id,
        "status": ticket.status,
        "order_id": ticket.order_id,
        "round": ticket.round,
    }


def parse_listing(title: str | None, price: str | int | None, currency: str) -> tuple[str, Money]:
    """Validate a new listing, reporting every bad field at once."""
    problems: list[ErrorItem] = []
    clean: str | None = None
    money: Money | None = None
    try:
        clean = clean_title(title)
    except InvalidInput as error:
        problems += error.items
    try:
        if price is None or str(price).strip() == "":
            raise InvalidInput("Price is required", "price")
        money = Money.parse(price, currency)
    except InvalidInput as error:
        problems += error.items
    if problems:
        raise InvalidInput.many(problems)
    assert clean is not None and money is not None
    return clean, money


def new_listing(
    owner_id: str,
    title: str,
    price: Money,
    external_id: str | None,
    ticket_id: str | None = None,
) -> Ticket:
    return Ticket(
        id=ticket_id or new_id(),
        title=title,
        price=price,
        owner_id=owner_id,
        version=0,
        status=AVAILABLE,
        order_id=None,
        external_id=external_id,
    )


def create_ticket(
    tx: Transaction,
    owner_id: str,
    title: str | None,
    price: str | int | None,
    currency: str,
    external_id: str | None = None,
) -> Ticket:
    clean, money = parse_listing(title, price, currency)
    ticket = new_listing(owner_id, clean, money, external_id)
    repository.add(tx, ticket, tx.now)
    tx.emit(events.TICKET_CREATED, event_data(ticket))
    return ticket


def update_ticket(
    tx: Transaction,
    user_id: str,
    ticket_id: str,
    title: str | None,
    price: str | int | None,
    currency: str | None = None,
) -> Ticket:
    if title is None and price is None and currency is None:
        raise InvalidInput("Nothing to update: give a new title, price or currency")
    ticket = get_ticket(tx, ticket_id, lock=True)
    ticket.check_editable_by(user_id)
    new_title = None if title is None else clean_title(title)
    new_price = None
    if price is not None or currency is not None:
        code = ticket.price.currency if currency is None else normalize_currency(currency)
        new_price = Money.parse(ticket.price.format() if price is None else price, code)
    updated = ticket.edited(new_title, new_price)
    repository.save(tx, updated, tx.now)
    tx.emit(events.TICKET_UPDATED, event_data(updated))
    return updated


def get_ticket(tx: Transaction, ticket_id: str, *, lock: bool = False) -> Ticket:
    ticket = repository.get(tx, ticket_id, lock=lock) if is_id(ticket_id) else None
    if ticket is None:
        raise NotFound("Ticket not found", "ticket_id")
    return ticket


def list_tickets(tx: Transaction, query: TicketQuery) -> list[Ticket]:
    query.check()
    return repository.search(tx, query)


def count_tickets(tx: Transaction, query: TicketQuery) -> int:
    query.check()
    return repository.count_matching(tx, query)


def export_page(
    tx: Transaction, *, owner_id: str | None, after_id: str, limit: int
) -> list[Ticket]:
    """The next page of an export, by id: one seller's listings (any status), or everything
    on sale."""
    status = None if owner_id is not None else AVAILABLE
    return repository.page_after(
        tx, owner_id=owner_id, status=status, after_id=after_id, limit=limit
    )


def count(tx: Transaction) -> int:
    return repository.count(tx)
