"""Domain errors and malformed requests as the contract's `{"errors":[{"message","field"}]}`,
with the status each error names; never a 500 for bad input."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from openticket.app.schemas import ErrorBody
from openticket.bootstrap import store_errors
from openticket.core.errors import DomainError, InProgress, TooManyRequests

log = logging.getLogger("openticket.server")

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"description": description, "model": ErrorBody}
    for status, description in {
        400: "Invalid input",
        401: "Not signed in",
        402: "Card declined",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "The request body is too large",
        422: "Malformed request",
        429: "Too many requests (see Retry-After)",
        503: "The database is unavailable for now (see Retry-After)",
    }.items()
}


def _body(items: list[tuple[str, str | None]]) -> dict[str, object]:
    return {"errors": [{"message": message, "field": field} for message, field in items]}


def install(app: FastAPI) -> None:
    unavailable, _ = store_errors()

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, error: DomainError) -> JSONResponse:
        headers = {}
        if isinstance(error, TooManyRequests | InProgress):
            headers["Retry-After"] = str(error.retry_after)
        return JSONResponse(
            _body([(item.message, item.field) for item in error.items]),
            status_code=error.http_status,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def malformed(_request: Request, error: RequestValidationError) -> JSONResponse:
        items = []
        for problem in error.errors():
            # Not body/query/…, nor the character offsets a JSON decoding error names.
            location = [str(p) for p in problem.get("loc", ())[1:] if not isinstance(p, int)]
            items.append((str(problem.get("msg", "Invalid value")), ".".join(location) or None))
        return JSONResponse(_body(items or [("Malformed request", None)]), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        message = "Not Found" if error.status_code == 404 else str(error.detail)
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(
            _body([(message, None)]), status_code=error.status_code, headers=headers
        )

    @app.exception_handler(unavailable)
    async def store_unavailable(_request: Request, error: Exception) -> JSONResponse:
        # Nothing was committed: the database refused a connection (full, restarting) or
        # ended the transaction (a deadlock victim). The details stay in the log.
        log.warning("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
        return JSONResponse(
            _body([("The database is unavailable for now: try again", None)]),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(ClientDisconnect)
    async def gone(_request: Request, _error: ClientDisconnect) -> JSONResponse:
        # The client stopped sending (an import it aborted): nobody reads this answer.
        log.debug("client disconnected before its request was read")
        return JSONResponse(_body([("The client went away", None)]), status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected %s", type(error).__name__, exc_info=error)
        return JSONResponse(_body([("Something went wrong", None)]), status_code=500)


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this path (each method is its own route, so
    Starlette's 405 names only the first route's)."""
    app = request.app
    if not hasattr(app.state, "path_methods"):
        app.state.path_methods = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), methods)
            for path, methods in app.openapi()["paths"].items()
        ]
    for pattern, methods in app.state.path_methods:
        if pattern.match(request.url.path):
            return sorted(method.upper() for method in methods)
    return []
