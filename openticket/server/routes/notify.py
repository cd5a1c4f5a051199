"""Watching for tickets and a user's news: /api/watches (saved searches) and
/api/me/notifications (the signed-in user's stream, oldest first after a position)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, StrictStr

from openticket.app import schemas
from openticket.core.notify.model import NOTIFICATIONS_LIMIT_MAX
from openticket.server.deps import ApiDep, TokenDep

router = APIRouter(tags=["notify"])
MAX_AFTER = 2**62  # past any stream; keeps SQL integers in range


class WatchCreate(BaseModel):
    search: StrictStr
    max_price: StrictStr | None = None
    currency: StrictStr | None = None


@router.get("/api/watches", operation_id="watches")
def watches(api: ApiDep, token: TokenDep) -> list[schemas.Watch]:
    return api.watches(token)


@router.post("/api/watches", status_code=201, operation_id="add_watch")
def add_watch(body: WatchCreate, api: ApiDep, token: TokenDep) -> schemas.Watch:
    return api.add_watch(token, body.search, body.max_price, body.currency)


@router.delete("/api/watches/{watch_id}", status_code=204, operation_id="remove_watch")
def remove_watch(watch_id: str, api: ApiDep, token: TokenDep) -> Response:
    api.remove_watch(token, watch_id)
    return Response(status_code=204)


@router.get("/api/me/notifications", operation_id="notifications")
def notifications(
    api: ApiDep,
    token: TokenDep,
    after: Annotated[int, Query(ge=0, le=MAX_AFTER)] = 0,
    limit: Annotated[int, Query(ge=1, le=NOTIFICATIONS_LIMIT_MAX)] = 100,
) -> list[schemas.Notification]:
    return api.notifications(token, after, limit)
