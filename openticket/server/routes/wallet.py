"""Tickets people hold: /api/wallet, resale and gifts under /api/tickets/{id}, codes (verify,
keys, the revocation list) under /api/codes, and /api/checkins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, StrictStr

from openticket.app import schemas
from openticket.server.deps import ApiDep, IdempotencyKeyDep, TokenDep
from openticket.server.routes.tickets import Price

router = APIRouter(tags=["wallet"])
MAX_POSITION = 2**63 - 1


class Resale(BaseModel):
    price: Price


class Gift(BaseModel):
    to: StrictStr


class CodeBody(BaseModel):
    code: StrictStr


class StaffBody(BaseModel):
    email: StrictStr


@router.get("/api/wallet", operation_id="wallet")
def wallet(api: ApiDep, token: TokenDep) -> list[schemas.WalletEntry]:
    return api.wallet(token)


@router.get("/api/wallet/transfers", operation_id="wallet_transfers")
def transfers(api: ApiDep, token: TokenDep) -> list[schemas.Transfer]:
    """Every change of holder you took part in: who passed what to whom, at what price."""
    return api.transfers(token)


@router.get("/api/wallet/{ticket_id}", operation_id="wallet_entry")
def wallet_entry(ticket_id: str, api: ApiDep, token: TokenDep) -> schemas.WalletEntry:
    return api.wallet_entry(token, ticket_id)


@router.post("/api/tickets/{ticket_id}/resell", operation_id="resell_ticket")
def resell(ticket_id: str, body: Resale, api: ApiDep, token: TokenDep) -> schemas.Ticket:
    return api.resell(token, ticket_id, str(body.price))


@router.delete("/api/tickets/{ticket_id}/resell", operation_id="cancel_resale")
def cancel_resale(ticket_id: str, api: ApiDep, token: TokenDep) -> schemas.Ticket:
    return api.cancel_resale(token, ticket_id)


@router.post("/api/tickets/{ticket_id}/transfer", operation_id="transfer_ticket")
def transfer(ticket_id: str, body: Gift, api: ApiDep, token: TokenDep) -> schemas.Ticket:
    return api.transfer(token, ticket_id, body.to)


@router.post("/api/codes/verify", operation_id="verify_code")
def verify(body: CodeBody, api: ApiDep) -> schemas.Verification:
    """Anyone may ask; `status` says valid, revoked, used or invalid."""
    return api.verify_code(body.code)


@router.get("/api/codes/keys", operation_id="code_keys")
def code_keys(api: ApiDep) -> schemas.CodeKeys:
    """The public keys codes are signed with, for verifying offline."""
    return api.code_keys()


@router.get("/api/codes/revoked", operation_id="code_changes")
def code_changes(
    api: ApiDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> schemas.CodeChanges:
    """Codes revoked (their ticket passed on) or used, after position `after`."""
    return api.code_changes(after, limit)


@router.post("/api/checkins", status_code=201, operation_id="check_in")
def check_in(
    body: CodeBody, api: ApiDep, token: TokenDep, key: IdempotencyKeyDep = None
) -> schemas.CheckIn:
    return api.check_in(token, body.code, idempotency_key=key)


@router.post("/api/checkins/staff", status_code=201, operation_id="add_checkin_staff")
def add_staff(body: StaffBody, api: ApiDep, token: TokenDep) -> schemas.StaffMember:
    """Let another user check in the tickets you issued."""
    return api.add_checkin_staff(token, body.email)


@router.get("/api/checkins/staff", operation_id="checkin_staff")
def staff(api: ApiDep, token: TokenDep) -> list[schemas.StaffMember]:
    """Who may check in the tickets you issued, first added first."""
    return api.checkin_staff(token)


# `:path`: an email may hold a "/", which arrives decoded (a `%2F` too)
@router.delete("/api/checkins/staff/{email:path}", operation_id="remove_checkin_staff")
def remove_staff(email: str, api: ApiDep, token: TokenDep) -> schemas.User:
    """From now on this user checks in none of your tickets."""
    return api.remove_checkin_staff(token, email)
