"""Ticket use cases: list, show, create, update."""

from __future__ import annotations

from openticket.core import events
from openticket.core.errors import ErrorItem, InvalidInput, NotFound
from openticket.core.ids import is_id, new_id
from openticket.core.money import Money, normalize_currency
from openticket.core.ports import Transaction
from openticket.core.text import storable
from openticket.core.tickets import repository
from openticket.core.tickets.model import AVAILABLE, SORTS, Ticket, clean_title

LIST_LIMIT_MAX = 1000
SEARCH_MAX = 200
LIST_OFFSET_MAX = 1_000_000_000  # past any real listing; keeps SQL integers in range


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
    ticket = get_ticket(tx, ticket_id)
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


def get_ticket(tx: Transaction, ticket_id: str) -> Ticket:
    ticket = repository.get(tx, ticket_id) if is_id(ticket_id) else None
    if ticket is None:
        raise NotFound("Ticket not found", "ticket_id")
    return ticket


def list_tickets(
    tx: Transaction,
    *,
    owner_id: str | None,
    search: str | None,
    limit: int,
    offset: int,
    sort: str = "listed",
) -> list[Ticket]:
    if sort not in SORTS:
        raise InvalidInput(f"Sort must be one of {', '.join(SORTS)}", "sort")
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInput(f"Limit must be between 1 and {LIST_LIMIT_MAX}", "limit")
    if not 0 <= offset <= LIST_OFFSET_MAX:
        raise InvalidInput(f"Offset must be from 0 to {LIST_OFFSET_MAX}", "offset")
    if search is not None and len(search) > SEARCH_MAX:
        raise InvalidInput(f"Search text must be at most {SEARCH_MAX} characters", "search")
    if search is not None and not storable(search):
        raise InvalidInput(
            "Search text must not contain NUL or unpaired surrogate characters", "search"
        )
    # A seller sees all their listings; the marketplace shows only what can be bought.
    status = None if owner_id is not None else AVAILABLE
    return repository.search(
        tx,
        status=status,
        owner_id=owner_id,
        text=search,
        limit=limit,
        offset=offset,
        sort=sort,
    )


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
