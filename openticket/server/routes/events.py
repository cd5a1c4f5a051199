"""/api/events: the marketplace's public changes (listings) as server-sent events.

Only ticket events are public (a listing, its price, and whether it is available, reserved
or sold); order and payment events name buyers and stay inside. Each event's `id` is its
position in the log, so a client that reconnects with `Last-Event-ID` misses nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from openticket.core import schemas
from openticket.core.events import TICKET_CREATED, TICKET_UPDATED
from openticket.server.deps import ApiDep

router = APIRouter(prefix="/api/events", tags=["events"])

PUBLIC_SUBJECTS = frozenset({TICKET_CREATED, TICKET_UPDATED})
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
PAGE = 500


def _frame(event: schemas.Event) -> str:
    body = json.dumps(event.model_dump(mode="json"), ensure_ascii=False)
    return f"id: {event.seq}\nevent: {event.subject}\ndata: {body}\n\n"


@router.get(
    "",
    operation_id="events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The event stream"}},
)
async def stream(
    request: Request,
    api: ApiDep,
    after: int = 0,
    follow: bool = True,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Public marketplace events after `after` (or the `Last-Event-ID` header); with
    `follow=false` the stream ends once the backlog is sent."""
    start = after
    if last_event_id is not None and last_event_id.strip().isdigit():
        start = int(last_event_id.strip())

    async def frames() -> AsyncIterator[str]:
        position, idle = start, 0.0
        while True:
            batch = await run_in_threadpool(api.events, position, PAGE)
            for event in batch:
                position = event.seq
                if event.subject in PUBLIC_SUBJECTS:
                    yield _frame(event)
            if len(batch) == PAGE:
                continue
            if not follow or await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)
            idle += POLL_SECONDS
            if idle >= HEARTBEAT_SECONDS:
                idle = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/last", operation_id="last_event")
def last_event(api: ApiDep) -> dict[str, int]:
    """The position of the newest event, to start following from now."""
    return {"seq": api.last_event_seq()}
