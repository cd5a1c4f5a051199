"""Stripe's webhook events, applied to the marketplace: each event id once, in one command
with what it changes (so its own events are delivered like any other command's), then the
refunds and payouts it made due are settled. The signature is checked before this
(server/routes/stripe.py); here the event is read as Stripe documents it, and anything else
is refused as malformed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from openticket.app.runtime import Runtime
from openticket.core.errors import InvalidInput, Unavailable
from openticket.core.payments import notifications
from openticket.core.payments.provider import (
    CHARGE_KEY_METADATA,
    AccountState,
    ChargeResult,
    OutcomeUnknown,
)
from openticket.core.ports import Transaction

log = logging.getLogger("openticket.payments")

ID_MAX = 255
HANDLED = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
    "account.updated",
    "transfer.reversed",
)


def _text(found: Mapping[str, Any], key: str) -> str:
    """An id or name of the event: Stripe's are short printable ASCII."""
    value = found.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"Stripe event without {key}")
    if len(value) > ID_MAX or not (value.isascii() and value.isprintable()):
        raise InvalidInput(f"Stripe event with an impossible {key}")
    return value


def _apply(tx: Transaction, kind: str, thing: Mapping[str, Any] | AccountState) -> None:
    if isinstance(thing, AccountState):
        if kind == "account.updated":
            notifications.account_changed(tx, thing)
        return
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        metadata = thing.get("metadata")
        key = metadata.get(CHARGE_KEY_METADATA) if isinstance(metadata, Mapping) else None
        if not isinstance(key, str):
            return  # not a charge of ours
        if kind == "payment_intent.succeeded":
            result = ChargeResult(True, _text(thing, "id"))
        else:
            error = thing.get("last_payment_error")
            message = error.get("message") if isinstance(error, Mapping) else None
            text = message if isinstance(message, str) else "Your card was declined."
            result = ChargeResult(False, _text(thing, "id"), " ".join(text.split())[:500])
        notifications.charge_finished(tx, key, result)
    elif kind == "charge.refunded":
        intent = _text(thing, "payment_intent")
        if notifications.charge_refunded(tx, intent, _text(thing, "id")):
            log.warning("payment %r was refunded at Stripe by hand: its payout is reversed", intent)
    elif kind == "charge.dispute.created":
        if thing.get("payment_intent"):  # none: a charge made outside PaymentIntents
            notifications.charge_disputed(tx, _text(thing, "payment_intent"))
    elif kind == "charge.dispute.closed":
        if thing.get("payment_intent"):
            won = thing.get("status") == "won"
            notifications.dispute_closed(tx, _text(thing, "payment_intent"), won)
    elif kind == "transfer.reversed" and thing.get("reversed") is True:
        # Taken back in full; a partial reversal leaves the payout released, and reconcile
        # flags the amount the seller kept.
        notifications.transfer_reversed(tx, _text(thing, "id"))


class StripeEvents:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def apply(self, event: object) -> bool:
        """Apply one verified event; False when it was applied before."""
        if not isinstance(event, Mapping):
            raise InvalidInput("Stripe event is not a JSON object")
        event_id, kind = _text(event, "id"), _text(event, "type")[:100]
        data = event.get("data")
        thing = data.get("object") if isinstance(data, Mapping) else None
        if not isinstance(thing, Mapping):
            raise InvalidInput("Stripe event without data.object")

        news: Mapping[str, Any] | AccountState | None = thing
        if kind == "account.updated":
            news = self._account_now(_text(thing, "id"))

        def apply_once(tx: Transaction) -> bool:
            if not notifications.first_time(tx, event_id, kind):
                return False
            if kind in HANDLED and news is not None:
                _apply(tx, kind, news)
            return True

        applied = self._runtime.commands.run("stripe-event", apply_once)
        if applied:
            self._runtime.settle_refunds()
            self._runtime.settle_payouts()
        return applied

    def _account_now(self, account_ref: str) -> AccountState | None:
        """The account as Stripe has it now, not as the event says: Stripe does not send
        events in order, and an older one must not undo a newer one (say, disable payouts
        again). None for an account that is gone. Stripe unreachable: a 503, and Stripe sends
        the event again later."""
        try:
            return self._runtime.provider.account_state(account_ref)
        except OutcomeUnknown as unknown:
            raise Unavailable(str(unknown)) from None
