"""Watching for tickets and a user's news: /api/watches (saved searches),
/api/me/notifications (the signed-in user's stream, oldest first after a position) and
/api/me/events (the same as server-sent events, each `id` its position, so a client that
reconnects with `Last-Event-ID` misses nothing).

A stream looks for its user's news once a second (one indexed read), and counts against the
same per-address limit as /api/events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from openticket.app import schemas
from openticket.core.errors import NotSignedIn
from openticket.core.notify.model import NOTIFICATIONS_LIMIT_MAX
from openticket.server.deps import ApiDep, TokenDep
from openticket.server.routes.events import (
    HEARTBEAT_SECONDS,
    EventFeed,
    sse_frame,
    sse_response,
    stream_position,
)

router = APIRouter(tags=["notify"])
MAX_AFTER = 2**62  # past any stream; keeps SQL integers in range
POLL_SECONDS = 1.0


class ReadUpTo(BaseModel):
    upto: Annotated[StrictInt, Field(ge=0, le=MAX_AFTER)]


class Unread(BaseModel):
    unread: int


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


@router.get("/api/me/notifications/unread", operation_id="unread_notifications")
def unread_notifications(api: ApiDep, token: TokenDep) -> Unread:
    return Unread(unread=api.unread_notifications(token))


@router.post("/api/me/notifications/read", operation_id="mark_notifications_read")
def mark_notifications_read(body: ReadUpTo, api: ApiDep, token: TokenDep) -> Unread:
    """You have read your news up to `upto` (a later mark never moves it back)."""
    return Unread(unread=api.mark_notifications_read(token, body.upto))


@router.get(
    "/api/me/events",
    operation_id="my_events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Your news"}},
)
async def my_events(
    request: Request,
    api: ApiDep,
    token: TokenDep,
    after: Annotated[int, Query(ge=0, le=MAX_AFTER)] = 0,
    follow: bool = True,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Your notifications after `after` (or the `Last-Event-ID` header) as server-sent
    events, then each as it comes; with `follow=false` the stream ends with the backlog."""
    if token is None:
        raise NotSignedIn()
    feed: EventFeed = request.app.state.event_feed
    position = min(stream_position(last_event_id, after), MAX_AFTER)
    first = await run_in_threadpool(api.notifications, token, position, NOTIFICATIONS_LIMIT_MAX)
    address = request.client.host if request.client else "unknown"
    opened = contextlib.ExitStack()
    opened.enter_context(feed.stream_of(address))

    async def frames() -> AsyncIterator[str]:
        nonlocal position
        batch, idle = first, 0.0
        with opened:
            while True:
                for notification in batch:
                    position = notification.seq
                    yield sse_frame(notification.seq, notification.kind, notification)
                if len(batch) == NOTIFICATIONS_LIMIT_MAX:
                    batch = await _page(api, token, position) or []
                    continue
                if not follow or await request.is_disconnected():
                    return
                await asyncio.sleep(POLL_SECONDS)
                idle += POLL_SECONDS
                found = await _page(api, token, position)
                if found is None:
                    return  # signed out (or the token revoked) meanwhile
                batch = found
                if batch:
                    idle = 0.0
                elif idle >= HEARTBEAT_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"

    return sse_response(frames(), opened)


async def _page(api: ApiDep, token: str, after: int) -> list[schemas.Notification] | None:
    """The user's news after `after`; None once the token no longer signs them in."""
    try:
        return await run_in_threadpool(api.notifications, token, after, NOTIFICATIONS_LIMIT_MAX)
    except NotSignedIn:
        return None
