"""/api/orders: list, reserve, show, cancel; and /api/payments."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from openticket.app import schemas
from openticket.app.api import OrderRequest
from openticket.server.deps import ApiDep, IdempotencyKeyDep, ReservationsDep, TokenDep

router = APIRouter(tags=["orders"])


class OrderCreate(BaseModel):
    ticket_id: str


class PaymentCreate(BaseModel):
    order_id: str
    token: str


class PaymentCheck(BaseModel):
    order_id: str


def _answered(payment: schemas.Payment, response: Response) -> schemas.Payment:
    """202 for a payment that waits for its buyer's authentication (3-D Secure)."""
    if payment.status == "requires_action":
        response.status_code = 202
    return payment


@router.get("/api/orders", operation_id="list_orders")
def list_orders(api: ApiDep, token: TokenDep) -> list[schemas.Order]:
    return api.list_orders(token)


@router.post("/api/orders", status_code=201, operation_id="create_order")
async def create_order(
    body: OrderCreate, reservations: ReservationsDep, token: TokenDep, key: IdempotencyKeyDep = None
) -> schemas.Order:
    # On the event loop: the reservation itself runs in the batcher's thread (batching.py).
    return await reservations.submit(OrderRequest(token, body.ticket_id, key))


@router.get("/api/orders/{order_id}", operation_id="show_order")
def show_order(order_id: str, api: ApiDep, token: TokenDep) -> schemas.Order:
    return api.get_order(token, order_id)


@router.delete("/api/orders/{order_id}", operation_id="cancel_order")
def cancel_order(order_id: str, api: ApiDep, token: TokenDep) -> schemas.Order:
    return api.cancel_order(token, order_id)


@router.post(
    "/api/payments",
    status_code=201,
    operation_id="pay",
    tags=["payments"],
    responses={202: {"description": "The card asks for authentication: open `action_url`"}},
)
def pay(
    body: PaymentCreate,
    api: ApiDep,
    token: TokenDep,
    response: Response,
    key: IdempotencyKeyDep = None,
) -> schemas.Payment:
    return _answered(api.pay(token, body.order_id, body.token, idempotency_key=key), response)


@router.post(
    "/api/payments/check",
    operation_id="check_payment",
    tags=["payments"],
    responses={202: {"description": "Still waiting for the card's authentication"}},
)
def check_payment(
    body: PaymentCheck, api: ApiDep, token: TokenDep, response: Response
) -> schemas.Payment:
    return _answered(api.check_payment(token, body.order_id), response)
