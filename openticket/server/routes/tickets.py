"""/api/tickets: list, show, create, update."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, StrictFloat, StrictInt, StrictStr

from openticket.app import schemas
from openticket.core.tickets.model import SORTS
from openticket.server.deps import ApiDep, IdempotencyKeyDep, TokenDep

MAX_OFFSET = 1_000_000_000  # past any real listing; keeps SQL integers in range

router = APIRouter(prefix="/api/tickets", tags=["tickets"])

# JSON numbers are accepted as prices, but not booleans (pydantic would read true as 1).
Price = StrictStr | StrictInt | StrictFloat
# Checked by the core (its message and field, as embedded); declared here for the document.
Sort = Annotated[
    str,
    Query(
        description="listed (oldest first), price (by currency, then amount), title; "
        "-price and -title descending",
        json_schema_extra={"enum": list(SORTS)},
    ),
]


class TicketCreate(BaseModel):
    title: str
    price: Price
    currency: str | None = None


class TicketUpdate(BaseModel):
    title: str | None = None
    price: Price | None = None
    currency: str | None = None


@router.get("", operation_id="list_tickets")
def list_tickets(
    api: ApiDep,
    token: TokenDep,
    mine: bool = False,
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    sort: Sort = "listed",
) -> list[schemas.Ticket]:
    return api.list_tickets(token, mine=mine, search=search, limit=limit, offset=offset, sort=sort)


@router.get("/count", operation_id="count_tickets")
def count_tickets(
    mine: bool = False,
    search: Annotated[str | None, Query(max_length=200)] = None,
    *,
    api: ApiDep,
    token: TokenDep,
) -> schemas.TicketCount:
    """How many tickets the listing with these filters pages through."""
    return schemas.TicketCount(count=api.count_tickets(token, mine=mine, search=search))


@router.get("/{ticket_id}", operation_id="show_ticket")
def show_ticket(ticket_id: str, api: ApiDep) -> schemas.Ticket:
    return api.get_ticket(ticket_id)


@router.post("", status_code=201, operation_id="create_ticket")
def create_ticket(
    body: TicketCreate, api: ApiDep, token: TokenDep, key: IdempotencyKeyDep = None
) -> schemas.Ticket:
    return api.create_ticket(token, body.title, str(body.price), body.currency, idempotency_key=key)


@router.put("/{ticket_id}", operation_id="update_ticket")
def update_ticket(
    ticket_id: str, body: TicketUpdate, api: ApiDep, token: TokenDep
) -> schemas.Ticket:
    return api.update_ticket(
        token,
        ticket_id,
        title=body.title,
        price=None if body.price is None else str(body.price),
        currency=body.currency,
    )
