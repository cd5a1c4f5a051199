"""What the payment provider tells us on its own (Stripe's webhooks), applied once each: an
outcome of a charge we did not see (a lost answer), a refund or a dispute made at the
provider, a seller's account or transfer that changed. Each goes through the same use cases
as a `pay` or a worker, so a notification racing them ends in one state."""

from __future__ import annotations

from openticket.core.payments import repository, service
from openticket.core.payments.model import REFUND_PENDING, SUCCEEDED, UNFINISHED
from openticket.core.payments.payouts import service as payouts
from openticket.core.payments.provider import AccountState, ChargeResult
from openticket.core.ports import Transaction


def first_time(tx: Transaction, notification_id: str, kind: str) -> bool:
    """Record the notification; False when it was applied before (a redelivery)."""
    return repository.add_notification(tx, notification_id, kind, tx.now)


def charge_finished(tx: Transaction, idempotency_key: str, result: ChargeResult) -> None:
    """A charge's outcome (an answer lost, or the card's authentication done): the attempt
    finishes as `pay` would have finished it."""
    payment = repository.by_idempotency_key(tx, idempotency_key)
    if payment is not None and payment.status in UNFINISHED:
        service.finish_payment(tx, payment.id, result)


def charge_refunded(tx: Transaction, provider_ref: str, refund_ref: str) -> bool:
    """A refund we asked for is done. One made at the provider by hand (its dashboard), in
    full or in part, of a completed order's charge: the seller is not paid for money given
    back, so the order's payout is reversed (its transfer taken back if it was made), and
    reconcile flags the order for a person; True then."""
    payment = repository.by_provider_ref(tx, provider_ref)
    if payment is not None and payment.status == REFUND_PENDING:
        service.record_refund(tx, payment.id, refund_ref)
    elif payment is not None and payment.status == SUCCEEDED:
        payouts.on_order_refunded(tx, payment.order_id)
        return True
    return False


def charge_disputed(tx: Transaction, provider_ref: str) -> None:
    payment = repository.by_provider_ref(tx, provider_ref)
    if payment is not None:
        payouts.disputed(tx, payment.order_id)


def dispute_closed(tx: Transaction, provider_ref: str, won: bool) -> None:
    payment = repository.by_provider_ref(tx, provider_ref)
    if payment is not None:
        payouts.dispute_closed(tx, payment.order_id, won)


def account_changed(tx: Transaction, state: AccountState) -> None:
    payouts.account_changed(tx, state)


def transfer_reversed(tx: Transaction, transfer_ref: str) -> None:
    payouts.transfer_reversed(tx, transfer_ref)
