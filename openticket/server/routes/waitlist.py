"""Waitlists: /api/waitlist (your lines), POST to join a reserved ticket's line, DELETE
/api/waitlist/{ticket_id} to leave it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, StrictStr

from openticket.app import schemas
from openticket.server.deps import ApiDep, TokenDep

router = APIRouter(tags=["waitlist"])


class WaitlistJoin(BaseModel):
    ticket_id: StrictStr


@router.get("/api/waitlist", operation_id="waitlist")
def waitlist(api: ApiDep, token: TokenDep) -> list[schemas.WaitlistEntry]:
    return api.waitlist(token)


@router.post("/api/waitlist", status_code=201, operation_id="join_waitlist")
def join_waitlist(body: WaitlistJoin, api: ApiDep, token: TokenDep) -> schemas.WaitlistEntry:
    return api.join_waitlist(token, body.ticket_id)


@router.delete("/api/waitlist/{ticket_id}", operation_id="leave_waitlist")
def leave_waitlist(ticket_id: str, api: ApiDep, token: TokenDep) -> schemas.WaitlistEntry:
    return api.leave_waitlist(token, ticket_id)
