"""POST /api/stripe/webhook: Stripe's events. The `Stripe-Signature` header is checked on the
raw body with the official SDK against each configured secret (several while one is being
rotated), within Stripe's default tolerance of five minutes; a bad, missing or stale
signature is a 400 and changes nothing. Each event id is applied once (app/stripe_events.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from openticket.app.stripe_events import StripeEvents
from openticket.core.errors import InvalidInput, NotFound

router = APIRouter(tags=["stripe"])
TOLERANCE_SECONDS = 300  # Stripe's default


class StripeWebhooks:
    """What the route needs: the signing secrets and where verified events go."""

    def __init__(self, secrets: tuple[str, ...], events: StripeEvents) -> None:
        self._secrets = secrets
        self.events = events

    def verified(self, payload: bytes, header: str | None) -> bool:
        import stripe

        if not header or _signed_at(header) > time.time() + TOLERANCE_SECONDS:
            return False  # none, or from the future (the SDK checks only for stale ones)
        for secret in self._secrets:
            try:
                stripe.WebhookSignature.verify_header(
                    payload.decode("utf-8"), header, secret, TOLERANCE_SECONDS
                )
            except (stripe.SignatureVerificationError, UnicodeDecodeError):
                continue
            return True
        return False


def _signed_at(header: str) -> float:
    """The header's timestamp (`t=`); infinity when it has none that reads."""
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            return float(value)
    return float("inf")


@router.post("/api/stripe/webhook", operation_id="stripe_webhook")
async def stripe_webhook(request: Request) -> dict[str, Any]:
    webhooks: StripeWebhooks | None = request.app.state.stripe_webhooks
    if webhooks is None:
        raise NotFound("Stripe webhooks are not set up here (OPENTICKET_STRIPE_WEBHOOK_SECRET)")
    payload = await request.body()
    if not webhooks.verified(payload, request.headers.get("Stripe-Signature")):
        raise InvalidInput("Invalid or stale Stripe signature", "Stripe-Signature")
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):
        raise InvalidInput("The Stripe event is not JSON") from None
    applied = await run_in_threadpool(webhooks.events.apply, event)
    return {"received": True, "duplicate": not applied}
