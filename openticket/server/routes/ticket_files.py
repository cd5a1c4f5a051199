"""/api/tickets/import and /api/tickets/export: `tickets import|export --server`.

The import body is the CLI's parsed rows as JSON Lines (see app/import_wire.py),
spooled to a temporary file as it arrives and then imported exactly as in embedded mode: the
whole upload is validated before anything is written. The export is JSON Lines, streamed a
page at a time. Both are registered before /api/tickets/{ticket_id}."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from openticket.app import import_wire, schemas
from openticket.server.deps import ApiDep, TokenDep

MAX_UPLOAD_BYTES = 1 << 30  # 1 GiB of JSON Lines: about ten million rows
SPOOL_IN_MEMORY_BYTES = 1 << 20

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.post(
    "/import",
    operation_id="import_tickets",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {import_wire.MEDIA_TYPE: {"schema": import_wire.ROWS_SCHEMA}},
        }
    },
)
async def import_tickets(
    request: Request,
    api: ApiDep,
    token: TokenDep,
    dry_run: bool = False,
    skip_invalid: bool = False,
) -> schemas.ImportReport:
    await run_in_threadpool(api.whoami, token)  # refuse before reading the upload
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY_BYTES) as spool:
        async for chunk in request.stream():  # its size is bounded by server.body_limit
            spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(
            api.import_tickets,
            token,
            import_wire.decode(spool),
            dry_run=dry_run,
            skip_invalid=skip_invalid,
        )


@router.get(
    "/export",
    operation_id="export_tickets",
    response_class=StreamingResponse,
    responses={200: {"content": {import_wire.MEDIA_TYPE: {}}, "description": "JSON Lines"}},
)
def export_tickets(api: ApiDep, token: TokenDep, mine: bool = False) -> StreamingResponse:
    """Signed-in users only: an anonymous export of a whole marketplace is a cheap way to
    keep a server busy."""
    api.whoami(token)  # a 401 now, not half-way through a stream
    rows = api.export_tickets(token, mine=mine)
    return StreamingResponse(_lines(rows), media_type=import_wire.MEDIA_TYPE)


def _lines(rows: Iterator[schemas.ExportRow]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row.model_dump(), ensure_ascii=False) + "\n"
