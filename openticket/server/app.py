"""create_app: the FastAPI app over an Api (LocalApi in `openticket serve`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from openticket import __version__
from openticket.app.api import Api
from openticket.config import DEFAULT_SIGNUPS_PER_MINUTE
from openticket.server import errors
from openticket.server.body_limit import BodyLimit
from openticket.server.deps import Reservations
from openticket.server.ratelimit import SigninLimiter, WindowFactory, memory_window
from openticket.server.routes import (
    events,
    notify,
    orders,
    payouts,
    stripe,
    ticket_files,
    tickets,
    users,
    waitlist,
    wallet,
    webhooks,
)
from openticket.server.routes.stripe import StripeWebhooks

SIGNIN_PER_ADDRESS = (30, 60.0)  # attempts per seconds
SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = (10, 60.0)


def create_app(
    api: Api,
    *,
    signin_limiter: SigninLimiter | None = None,
    signups_per_minute: int = DEFAULT_SIGNUPS_PER_MINUTE,  # per client address
    windows: WindowFactory = memory_window,
    stripe_webhooks: StripeWebhooks | None = None,  # None: POST /api/stripe/webhook is a 404
) -> FastAPI:
    reservations = Reservations(
        lambda requests, settled: api.create_orders(requests, settled=settled),
        name="openticket-reservations",
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        reservations.close()

    app = FastAPI(
        lifespan=lifespan,
        title="openticket",
        version=__version__,
        description="The openticket marketplace over HTTP: the same objects as `--json`.",
        responses=errors.ERROR_RESPONSES,
    )
    app.state.api = api
    app.state.event_feed = events.EventFeed(api)
    app.state.reservations = reservations
    app.state.stripe_webhooks = stripe_webhooks
    app.state.signin_limiter = signin_limiter or SigninLimiter(
        windows("signin-per-address", *SIGNIN_PER_ADDRESS),
        windows("signin-failures", *SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS),
    )
    app.state.signup_limiter = windows("signups-per-address", signups_per_minute, 60.0)
    errors.install(app)
    app.add_middleware(BodyLimit, by_path={"/api/tickets/import": ticket_files.MAX_UPLOAD_BYTES})
    for router in (
        users.router,
        ticket_files.router,  # before tickets: /export is not a ticket id
        tickets.router,
        orders.router,
        events.router,
        wallet.router,
        payouts.router,
        notify.router,
        waitlist.router,
        webhooks.router,
        stripe.router,
    ):
        app.include_router(router)

    @app.get("/healthz", operation_id="healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        # On the event loop: it answers even while every thread of the pool is busy.
        return {"status": "ok"}

    return app
