"""The Stripe payment provider: PaymentIntents through the official SDK.

A charge is one PaymentIntent created with `confirm=True`, card only, the amount in the
currency's minor unit (none for JPY and the other zero-decimal currencies) and Stripe's
lowercase currency code. The idempotency key of the attempt goes to Stripe as its
`Idempotency-Key` and into the PaymentIntent's metadata, so a retried request never charges
twice and reconciliation can find the charge of every attempt. A card that asks for 3-D Secure
leaves the PaymentIntent waiting: its authentication page (Stripe's redirect, as the
PaymentIntent is confirmed with a `return_url`) is for the buyer to open, and the outcome comes
by webhook or by asking again (`charge_outcome`).

Messages passed on to users are one line and never carry the secret key.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from openticket.core.errors import InvalidInput
from openticket.core.money import Money
from openticket.core.payments.provider import (
    CHARGE_KEY_METADATA,
    ChargeRecord,
    ChargeResult,
    OutcomeUnknown,
)
from openticket.providers.stripe_connect import DEFAULT_RETURN_URL, StripeConnect

if TYPE_CHECKING:
    import stripe

METADATA_KEY = CHARGE_KEY_METADATA
DEFAULT_TIMEOUT = 30.0
# The SDK retries network errors with the same idempotency key, which Stripe de-duplicates.
NETWORK_RETRIES = 2
_SOURCE = re.compile(r"^(pm|tok|card|src)_[A-Za-z0-9_]{1,200}$")
_DECLINED = "Your card was declined."
_NEEDS_AUTHENTICATION = (
    "This card asks for a kind of authentication that openticket cannot offer; use another card."
)
_CANCELLED = "The payment was cancelled before it was authenticated."
_PAGE = 100


def payment_method_params(source: str) -> dict[str, Any]:
    """A PaymentMethod id (`pm_card_visa`) is passed as is; a token (`tok_visa`) becomes the
    card of an inline PaymentMethod, as Stripe takes tokens in PaymentIntents."""
    if not _SOURCE.match(source):
        raise InvalidInput(
            f"Not a Stripe payment method or card token: {source[:60]!r} "
            "(for example pm_card_visa or tok_visa)",
            "card",
        )
    if source.startswith("tok_"):
        return {"payment_method_data": {"type": "card", "card": {"token": source}}}
    return {"payment_method": source}


class StripeProvider(StripeConnect):
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        network_retries: int = NETWORK_RETRIES,
        return_url: str = DEFAULT_RETURN_URL,
    ) -> None:
        import stripe  # imported when Stripe is configured: it is slow to import

        # The SDK's info and debug records carry request and response bodies, which may echo
        # card details or a key: they are never written, whatever the process's log level.
        logging.getLogger("stripe").setLevel(logging.WARNING)
        self._stripe = stripe
        self._secret = api_key
        self.return_url = return_url  # after onboarding, or a card's authentication
        # A charge takes at most a timeout per try (the SDK retries network errors), then
        # the PaymentIntent's cancellation when it needs authentication.
        self.patience_seconds = timeout * (network_retries + 2) + 5
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def charge(
        self, amount: Money, source: str, idempotency_key: str, transfer_group: str | None = None
    ) -> ChargeResult:
        params: dict[str, Any] = {
            "amount": amount.minor,
            "currency": amount.currency.lower(),
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": {METADATA_KEY: idempotency_key},
            # A card that asks for 3-D Secure is then answered with a page to send the buyer
            # to (`redirect_to_url`), which comes back here after authentication.
            "return_url": self.return_url,
            **payment_method_params(source),
        }
        if transfer_group is not None:  # the transfer paying the seller will name it too
            params["transfer_group"] = transfer_group
        stripe = self._stripe
        try:
            intent = self._client.v1.payment_intents.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as declined:
            return ChargeResult(False, _intent_id(declined), self._text(declined) or _DECLINED)
        except stripe.InvalidRequestError as refused:
            if isinstance(refused, stripe.IdempotencyError):
                raise self._unknown(refused) from None
            raise InvalidInput(
                f"Stripe refused the payment: {self._text(refused)}", "card"
            ) from None
        except stripe.StripeError as error:
            raise self._unknown(error) from None
        return self._outcome(intent, idempotency_key)

    def _outcome(self, intent: stripe.PaymentIntent, idempotency_key: str) -> ChargeResult:
        if intent.status == "succeeded":
            return ChargeResult(True, intent.id)
        if intent.status == "requires_payment_method":
            error = intent.last_payment_error
            message = error.message if error is not None and error.message else _DECLINED
            return ChargeResult(False, intent.id, self._one_line(message))
        if intent.status == "canceled":
            return ChargeResult(False, intent.id, _CANCELLED)
        action = intent.next_action
        if intent.status == "requires_action" and action and action.type == "redirect_to_url":
            page = action.redirect_to_url
            if page is not None and page.url:
                return ChargeResult(False, intent.id, action_url=page.url)
        if intent.status in ("requires_action", "requires_confirmation"):
            # A step the buyer cannot take from here: an unconfirmed PaymentIntent charges
            # nothing, and Stripe expires it if this cancellation fails.
            with contextlib.suppress(self._stripe.StripeError):
                self._client.v1.payment_intents.cancel(
                    intent.id, options={"idempotency_key": f"{idempotency_key}-cancel"}
                )
            return ChargeResult(False, intent.id, _NEEDS_AUTHENTICATION)
        raise OutcomeUnknown(f"Stripe has not finished the payment yet ({intent.status}).")

    def charge_outcome(self, provider_ref: str) -> ChargeResult:
        try:
            intent = self._client.v1.payment_intents.retrieve(provider_ref)
        except self._stripe.StripeError as error:
            raise self._unknown(error) from None
        return self._outcome(intent, self._key_of(intent))

    def cancel_charge(self, provider_ref: str, idempotency_key: str) -> ChargeResult:
        stripe = self._stripe
        try:
            intent = self._client.v1.payment_intents.cancel(
                provider_ref, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError:
            # Not cancellable any more: it went through (or failed) just before.
            return self.charge_outcome(provider_ref)
        except stripe.StripeError as error:
            raise self._unknown(error) from None
        return self._outcome(intent, idempotency_key)

    @staticmethod
    def _key_of(intent: stripe.PaymentIntent) -> str:
        metadata = intent.metadata.to_dict() if intent.metadata else {}
        return str(metadata.get(METADATA_KEY) or intent.id)

    def refund(self, provider_ref: str, idempotency_key: str) -> str:
        stripe = self._stripe
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": provider_ref},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as refused:
            if refused.code == "charge_already_refunded":
                existing = self._existing_refund(provider_ref)
                if existing is not None:
                    return existing
            raise OutcomeUnknown(f"Stripe refused the refund: {self._text(refused)}") from None
        except stripe.StripeError as error:
            raise self._unknown(error) from None
        return refund.id

    def _existing_refund(self, provider_ref: str) -> str | None:
        refunds = self._client.v1.refunds.list(params={"payment_intent": provider_ref})
        return next((refund.id for refund in refunds.data), None)

    def charges(self) -> Iterator[ChargeRecord]:
        try:
            refunded = {
                refund.payment_intent
                for refund in self._client.v1.refunds.list(
                    params={"limit": _PAGE}
                ).auto_paging_iter()
                if refund.status in ("succeeded", "pending") and refund.payment_intent
            }
            intents = self._client.v1.payment_intents.list(params={"limit": _PAGE})
            for intent in intents.auto_paging_iter():
                metadata = intent.metadata.to_dict() if intent.metadata else {}
                key = metadata.get(METADATA_KEY)
                if key is None:
                    continue  # not a charge of ours
                yield ChargeRecord(
                    idempotency_key=str(key),
                    provider_ref=intent.id,
                    amount=Money(intent.amount, intent.currency.upper()),
                    succeeded=intent.status == "succeeded",
                    refunded=intent.id in refunded,
                    waiting=intent.status == "requires_action",
                )
        except self._stripe.StripeError as error:
            raise self._unknown(error) from None

    def _unknown(self, error: stripe.StripeError) -> OutcomeUnknown:
        stripe = self._stripe
        if isinstance(error, stripe.APIConnectionError):
            reason = "timed out" if "timeout" in str(error).lower() else "connection failed"
            return OutcomeUnknown(f"Stripe could not be reached ({reason}).")
        if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
            return OutcomeUnknown(
                "Stripe refused the configured API key (check OPENTICKET_STRIPE_API_KEY)."
            )
        if isinstance(error, stripe.RateLimitError):
            return OutcomeUnknown("Stripe is limiting the request rate; try again shortly.")
        if isinstance(error, stripe.IdempotencyError):
            return OutcomeUnknown("Stripe is still processing an earlier request for this payment.")
        return OutcomeUnknown(f"Stripe error: {self._text(error)}")

    def _text(self, error: stripe.StripeError) -> str:
        return self._one_line(error.user_message or type(error).__name__)

    def _one_line(self, text: str) -> str:
        cleaned = " ".join(text.split())
        if self._secret:
            cleaned = cleaned.replace(self._secret, "[secret key]")
        return redact_keys(cleaned)


# Anything shaped like a Stripe secret or restricted key, whole or partly echoed back
# ("Invalid API Key provided: sk_test_****abcd").
_KEY_SHAPED = re.compile(r"(?<![A-Za-z0-9])[sr]k_[A-Za-z0-9_*.\-]*")


def redact_keys(text: str) -> str:
    return _KEY_SHAPED.sub("[secret key]", text)


def _intent_id(declined: stripe.CardError) -> str | None:
    intent = declined.error.payment_intent if declined.error is not None else None
    return None if intent is None else intent.id
