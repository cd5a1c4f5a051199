"""Outgoing webhooks: /api/webhooks (your endpoints; POST adds one and answers its secret,
once), DELETE /api/webhooks/{id}, and GET /api/webhooks/{id}/deliveries (its log). The
server sends the deliveries itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, StrictStr

from openticket.app import schemas
from openticket.core.notify.webhooks.service import DELIVERIES_LIMIT_MAX
from openticket.server.deps import ApiDep, TokenDep

router = APIRouter(tags=["webhooks"])


class WebhookCreate(BaseModel):
    url: StrictStr
    events: list[StrictStr] | None = None


@router.get("/api/webhooks", operation_id="webhooks")
def webhooks(api: ApiDep, token: TokenDep) -> list[schemas.Webhook]:
    return api.webhooks(token)


@router.post("/api/webhooks", status_code=201, operation_id="add_webhook")
def add_webhook(body: WebhookCreate, api: ApiDep, token: TokenDep) -> schemas.Webhook:
    return api.add_webhook(token, body.url, body.events)


@router.delete("/api/webhooks/{webhook_id}", status_code=204, operation_id="remove_webhook")
def remove_webhook(webhook_id: str, api: ApiDep, token: TokenDep) -> Response:
    api.remove_webhook(token, webhook_id)
    return Response(status_code=204)


@router.get("/api/webhooks/{webhook_id}/deliveries", operation_id="webhook_deliveries")
def webhook_deliveries(
    webhook_id: str,
    api: ApiDep,
    token: TokenDep,
    limit: Annotated[int, Query(ge=1, le=DELIVERIES_LIMIT_MAX)] = 100,
) -> list[schemas.WebhookDelivery]:
    return api.webhook_deliveries(token, webhook_id, limit)
