"""Paying sellers: /api/payouts (the seller's payouts), /api/payouts/account (where they go),
/api/payouts/onboard (make that account) and /api/orders/{id}/refund (a seller's refund)."""

from __future__ import annotations

from fastapi import APIRouter

from openticket.app import schemas
from openticket.server.deps import ApiDep, TokenDep

router = APIRouter(tags=["payouts"])


@router.get("/api/payouts", operation_id="payouts")
def payouts(api: ApiDep, token: TokenDep) -> list[schemas.Payout]:
    return api.payouts(token)


@router.get("/api/payouts/account", operation_id="payout_account")
def payout_account(api: ApiDep, token: TokenDep) -> schemas.PayoutAccount:
    return api.payout_account(token)


@router.post("/api/orders/{order_id}/refund", operation_id="refund_order")
def refund_order(order_id: str, api: ApiDep, token: TokenDep) -> schemas.Order:
    """The seller refunds a sale before its ticket is used; the ticket comes back to them."""
    return api.refund_order(token, order_id)


@router.post("/api/payouts/onboard", operation_id="onboard")
def onboard(api: ApiDep, token: TokenDep) -> schemas.PayoutAccount:
    return api.onboard(token)
