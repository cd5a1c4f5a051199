"""What routes depend on: the Api behind the app, and the caller's bearer token. They are
`async def` only because FastAPI runs a plain `def` dependency in its thread pool: a hop per
dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from openticket.app.api import Api, OrderRequest
from openticket.app.schemas import Order
from openticket.server.batching import Batcher

Reservations = Batcher[OrderRequest, Order]


async def get_api(request: Request) -> Api:
    api: Api = request.app.state.api
    return api


async def get_reservations(request: Request) -> Reservations:
    reservations: Reservations = request.app.state.reservations
    return reservations


async def bearer_token(authorization: Annotated[str | None, Header()] = None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


ApiDep = Annotated[Api, Depends(get_api)]
ReservationsDep = Annotated[Reservations, Depends(get_reservations)]
TokenDep = Annotated[str | None, Depends(bearer_token)]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Makes a creating request safe to retry: a repeat gets the first answer.",
    ),
]
