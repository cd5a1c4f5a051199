"""Request bodies past a size limit are refused with 413 before they are read whole: a JSON body
of 1 MiB is already far more than any request of this API needs, and a server must not hold
(or parse) what a stranger chose to send. Imports stream, with a limit of their own."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_BODY_BYTES = 1 << 20


def _megabytes(limit: int) -> str:
    return f"{limit / (1 << 20):g} MiB"


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        default: int = MAX_JSON_BODY_BYTES,
        by_path: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.by_path = dict(by_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope["path"], self.default)
        message = f"The request body is larger than {_megabytes(limit)}"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response = JSONResponse(
                {"errors": [{"message": message, "field": None}]},
                status_code=413,
                headers={"Connection": "close"},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:  # a body sent in chunks, without a length
                    raise HTTPException(413, message)
            return event

        await self.app(scope, counted, send)
