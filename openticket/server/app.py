"""create_app: the FastAPI app over an Api (LocalApi in `openticket serve`)."""

from __future__ import annotations

from fastapi import FastAPI

from openticket import __version__
from openticket.core.api import Api
from openticket.server import errors
from openticket.server.routes import events, orders, tickets, users


def create_app(api: Api) -> FastAPI:
    app = FastAPI(
        title="openticket",
        version=__version__,
        description="The openticket marketplace over HTTP: the same objects as `--json`.",
        responses=errors.ERROR_RESPONSES,
    )
    app.state.api = api
    errors.install(app)
    for router in (users.router, tickets.router, orders.router, events.router):
        app.include_router(router)

    @app.get("/healthz", operation_id="healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
