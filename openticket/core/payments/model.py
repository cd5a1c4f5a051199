"""Payment rules: which orders may be paid, and the payment's states."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from openticket.core.errors import Conflict, Forbidden, InvalidInput
from openticket.core.money import Money

PENDING = "pending"
# The card asks for authentication (3-D Secure): the buyer opens `action_url`; the outcome
# comes by webhook or `pay --check`. The order meanwhile expires as an unpaid one does.
REQUIRES_ACTION = "requires_action"
# The order ended while its attempt awaited authentication: the charge is being given up at
# the provider (one that went through meanwhile is refunded).
CANCELLING = "cancelling"
SUCCEEDED = "succeeded"
FAILED = "failed"
REFUND_PENDING = "refund_pending"
REFUNDED = "refunded"

# At most one payment per order in these states (a partial unique index).
LIVE_STATUSES = (PENDING, REQUIRES_ACTION, CANCELLING, SUCCEEDED, REFUND_PENDING)
# An attempt whose charge has no final outcome yet.
UNFINISHED = (PENDING, REQUIRES_ACTION, CANCELLING)

ORDER_STATUS_CREATED = "created"
ORDER_STATUS_COMPLETE = "complete"
ORDER_STATUS_CANCELLED = "cancelled"


SOURCE_MAX = 255  # a card token or payment method id (Stripe's are far shorter)


def check_source(source: str) -> None:
    """A card token as the providers write them: printable ASCII (each provider refuses the
    forms it does not know, with its own message)."""
    if not 0 < len(source) <= SOURCE_MAX or not (source.isascii() and source.isprintable()):
        raise InvalidInput(
            f"Card token must be 1 to {SOURCE_MAX} printable ASCII characters, such as tok_visa",
            "card",
        )


@dataclass(frozen=True)
class OrderReplica:
    id: str
    user_id: str
    price: Money
    status: str
    expires_at: datetime
    version: int
    cancel_reason: str | None = None
    seller_id: str | None = None  # whom a completed order pays (None before payouts existed)
    ticket_id: str | None = None

    def check_payable_by(self, user_id: str, now: datetime) -> None:
        if self.user_id != user_id:
            raise Forbidden("Not Authorized: this order belongs to another user")
        if self.status == ORDER_STATUS_CANCELLED:
            if self.cancel_reason == "expired":
                raise Conflict("Cannot complete payment: order has expired", "order_id")
            if self.cancel_reason == "refused":
                raise Conflict(
                    "Cannot complete payment: the ticket was no longer on sale as reserved "
                    "(its seller withdrew, sold or repriced it), so the order was cancelled",
                    "order_id",
                )
            raise Conflict("Cannot complete payment: order has been cancelled", "order_id")
        if self.status == ORDER_STATUS_COMPLETE:
            raise Conflict("Cannot complete payment: order has been completed", "order_id")
        if self.expires_at <= now:
            raise Conflict("Cannot complete payment: order has expired", "order_id")


@dataclass(frozen=True)
class Payment:
    id: str
    order_id: str
    attempt: int
    status: str
    amount: Money
    provider: str
    source: str
    idempotency_key: str
    provider_ref: str | None = None
    failure_message: str | None = None
    lease_until: datetime | None = None  # pending: a live process drives it until then
    action_url: str | None = None  # requires_action: where its buyer authenticates it

    def with_status(self, status: str, **changes: str | None) -> Payment:
        return replace(self, status=status, **changes)  # type: ignore[arg-type]

    def is_driven(self, now: datetime) -> bool:
        """A pending attempt some process is charging right now (its lease is not over)."""
        return self.status == PENDING and self.lease_until is not None and now < self.lease_until


@dataclass(frozen=True)
class Finding:
    """A recorded payment (or a charge) that does not agree with the provider."""

    payment_id: str | None
    order_id: str | None
    provider_ref: str | None
    problem: str
    action: str
    payout_id: str | None = None  # a seller's payout, rather than a buyer's payment


@dataclass(frozen=True)
class Reconciliation:
    checked: int
    findings: list[Finding]
    fixed: int
    payouts_checked: int = 0
