"""/api/events: the marketplace's public changes (listings) as server-sent events.

Only ticket events are public (a listing, its price, and whether it is available, reserved
or sold); order and payment events name buyers and stay inside. Each event's `id` is its
position in the log, so a client that reconnects with `Last-Event-ID` misses nothing.

A stream costs the server little, whoever opens it: an anonymous client replays at most the
last ANONYMOUS_REPLAY events (signed-in clients may replay the whole log), an address holds at
most STREAMS_PER_ADDRESS streams at once, replay pages are read a few at a time across all
streams and yield to other requests in between, and idle streams share one look at the log's
end per poll instead of each reading the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from openticket.app import schemas
from openticket.app.api import Api
from openticket.core.errors import InvalidInput, NotSignedIn, TooManyRequests
from openticket.core.events import TICKET_CREATED, TICKET_UPDATED
from openticket.server.deps import ApiDep, TokenDep

router = APIRouter(prefix="/api/events", tags=["events"])

PUBLIC_SUBJECTS = frozenset({TICKET_CREATED, TICKET_UPDATED})
POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0
PAGE = 500
ANONYMOUS_REPLAY = 1000
STREAMS_PER_ADDRESS = 8
REPLAY_READERS = 2  # pages read at once, all streams together
MAX_SEQ = 2**63 - 1


class EventFeed:
    """What the streams of one server share: the log's end, looked at once per poll for all
    of them, the pages being read, and how many streams each address holds."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self._newest = 0
        self._looked_at = float("-inf")
        self._looking = asyncio.Lock()
        self._readers = asyncio.Semaphore(REPLAY_READERS)
        self._streams: Counter[str] = Counter()

    async def newest(self, *, fresh: bool = False) -> int:
        """The log's end as seen within the last poll (or now, `fresh`)."""
        async with self._looking:
            if fresh or time.monotonic() - self._looked_at >= POLL_SECONDS:
                self._newest = await run_in_threadpool(self._api.last_event_seq)
                self._looked_at = time.monotonic()
            return self._newest

    async def page(self, after: int, limit: int) -> list[schemas.Event]:
        async with self._readers:
            return await run_in_threadpool(self._api.events, after, limit)

    @contextlib.contextmanager
    def stream_of(self, address: str) -> Iterator[None]:
        if self._streams[address] >= STREAMS_PER_ADDRESS:
            raise TooManyRequests(
                f"At most {STREAMS_PER_ADDRESS} event streams per address: close one first",
                retry_after=5,
            )
        self._streams[address] += 1
        try:
            yield
        finally:
            self._streams[address] -= 1
            if not self._streams[address]:
                del self._streams[address]


def stream_position(text: str | None, fallback: int) -> int:
    """`Last-Event-ID`, an event's position: ASCII digits within the log's range."""
    if text is None or not text.strip():  # an empty header names no event
        return fallback
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_SEQ:
        raise InvalidInput("Last-Event-ID must be the number of an event", "Last-Event-ID")
    return int(value)


def sse_frame(position: int, name: str, item: BaseModel) -> str:
    """One server-sent event: its `id` the position a reconnecting client resumes after."""
    body = json.dumps(item.model_dump(mode="json"), ensure_ascii=False)
    return f"id: {position}\nevent: {name}\ndata: {body}\n\n"


def sse_response(body: AsyncIterator[str], opened: contextlib.ExitStack) -> StreamingResponse:
    """The stream; what it holds open (`opened`) is let go when it ends or never starts."""
    weakref.finalize(body, opened.close)
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "",
    operation_id="events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The event stream"}},
)
async def stream(
    request: Request,
    api: ApiDep,
    token: TokenDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    follow: bool = True,
    limit: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Public marketplace events after `after` (or the `Last-Event-ID` header); with
    `follow=false` the stream ends once the backlog is sent (or `limit` events are).
    Anonymous clients start at most ANONYMOUS_REPLAY events before the end."""
    feed: EventFeed = request.app.state.event_feed
    position = stream_position(last_event_id, after)
    address = request.client.host if request.client else "unknown"
    opened = contextlib.ExitStack()
    opened.enter_context(feed.stream_of(address))
    try:
        if token is None or not await _signed_in(api, token):
            position = max(position, await feed.newest(fresh=True) - ANONYMOUS_REPLAY)
    except BaseException:
        opened.close()
        raise

    async def frames() -> AsyncIterator[str]:
        nonlocal position
        sent, idle, reading = 0, 0.0, True
        caught_up: int | None = None  # the log's end when this stream last read all of it
        with opened:
            while True:
                # The backlog is read page after page at once (a client reads its own
                # writes); after it, only when the shared look at the log's end moved (by
                # position, not number: the log's order is not its numbers' on PostgreSQL).
                newest = await feed.newest()
                if reading or newest != caught_up:
                    batch = await feed.page(position, PAGE)
                    for event in batch:
                        position = event.seq
                        if event.subject in PUBLIC_SUBJECTS:
                            yield sse_frame(event.seq, event.subject, event)
                            sent += 1
                            if limit is not None and sent >= limit:
                                return
                    reading = len(batch) == PAGE
                    if reading:
                        await asyncio.sleep(0)  # let other requests in between pages
                        continue
                    caught_up = newest
                    idle = 0.0
                if not follow or await request.is_disconnected():
                    return
                await asyncio.sleep(POLL_SECONDS)
                idle += POLL_SECONDS
                if idle >= HEARTBEAT_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"

    return sse_response(frames(), opened)


async def _signed_in(api: Api, token: str) -> bool:
    try:
        await run_in_threadpool(api.whoami, token)
    except NotSignedIn:
        return False
    return True


@router.get("/last", operation_id="last_event")
def last_event(api: ApiDep) -> dict[str, int]:
    """The position of the newest event, to start following from now."""
    return {"seq": api.last_event_seq()}
