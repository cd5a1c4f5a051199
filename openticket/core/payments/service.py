"""Payment use cases. A charge happens outside any transaction, between two of them:

1. `begin_payment` checks the order and records a pending attempt (one per order at a time),
   leased to this process for a grace period, and announces `payment:started` (the order
   then waits for the outcome instead of expiring under the charge);
2. the provider charges, with an idempotency key per (order, attempt);
3. `finish_payment` records the outcome. If the order was cancelled or expired meanwhile, the
   charge is marked for refund instead, so a buyer is never charged without the ticket.

A pending attempt whose lease is over (its process died, or could not tell the outcome) is
driven again with the same key, which never charges twice (charging.redrive_stale).

A card that asks for authentication (3-D Secure) leaves the attempt `requires_action`: the
order goes back to expiring as an unpaid one, the buyer authenticates on the provider's page,
and the outcome (a webhook, `pay --check`) finishes the attempt as above. If the order ends
first, the attempt is given up at the provider (`cancelling`); a charge that went through all
the same is refunded.
"""

from __future__ import annotations

from datetime import timedelta

from openticket.core import events
from openticket.core.errors import Conflict, Forbidden, InProgress, NotFound, PaymentDeclined
from openticket.core.ids import is_id, new_id
from openticket.core.payments import repository
from openticket.core.payments.model import (
    CANCELLING,
    FAILED,
    ORDER_STATUS_CANCELLED,
    PENDING,
    REFUND_PENDING,
    REFUNDED,
    REQUIRES_ACTION,
    SUCCEEDED,
    UNFINISHED,
    OrderReplica,
    Payment,
)
from openticket.core.payments.provider import ChargeResult
from openticket.core.ports import Transaction


def payment_data(payment: Payment) -> events.PaymentMade:
    return {
        "id": payment.id,
        "order_id": payment.order_id,
        "amount": payment.amount.format(),
        "currency": payment.amount.currency,
        "provider": payment.provider,
        "provider_ref": payment.provider_ref,
    }


def begin_payment(
    tx: Transaction, user_id: str, order_id: str, source: str, provider: str, lease: timedelta
) -> Payment:
    # The replica row is this order's lock: its attempts begin one at a time.
    order = repository.get_order(tx, order_id, lock=True) if is_id(order_id) else None
    if order is None:
        raise NotFound("Order not found", "order_id")
    order.check_payable_by(user_id, tx.now)
    live = repository.live_for_order(tx, order_id)
    if live is not None:
        if live.status in UNFINISHED:
            # Never joined: another card's outcome is not this request's answer (one that
            # awaits authentication was asked about, and given up for another card, just
            # before: this one went through or came back meanwhile).
            raise InProgress("A payment for this order is in progress", "order_id")
        raise Conflict("Cannot complete payment: order has been completed", "order_id")
    attempt = repository.attempts_for_order(tx, order_id) + 1
    payment = Payment(
        id=new_id(),
        order_id=order_id,
        attempt=attempt,
        status=PENDING,
        amount=order.price,
        provider=provider,
        source=source,
        idempotency_key=f"openticket-{order_id}-{attempt}",
        lease_until=tx.now + lease,
    )
    repository.add(tx, payment, tx.now)
    tx.emit(events.PAYMENT_STARTED, attempt_data(payment))
    return payment


def is_buyer(tx: Transaction, user_id: str, order_id: str) -> bool:
    order = repository.get_order(tx, order_id) if is_id(order_id) else None
    return order is not None and order.user_id == user_id


def awaiting_authentication(tx: Transaction, user_id: str, order_id: str) -> Payment | None:
    """This buyer's attempt for the order that waits for the card's authentication."""
    if not is_buyer(tx, user_id, order_id):
        return None
    latest = repository.latest_for_order(tx, order_id)
    return latest if latest is not None and latest.status == REQUIRES_ACTION else None


def latest_attempt(tx: Transaction, user_id: str, order_id: str) -> Payment:
    """The buyer's latest payment attempt for the order (`pay --check`)."""
    order = repository.get_order(tx, order_id) if is_id(order_id) else None
    if order is None:
        raise NotFound("Order not found", "order_id")
    if order.user_id != user_id:
        raise Forbidden("Not Authorized: this order belongs to another user")
    latest = repository.latest_for_order(tx, order_id)
    if latest is None:
        raise NotFound("No payment has been made for this order", "order_id")
    return latest


def attempt_data(payment: Payment) -> events.PaymentAttempt:
    return {"id": payment.id, "order_id": payment.order_id, "attempt": payment.attempt}


def finish_payment(tx: Transaction, payment_id: str, result: ChargeResult) -> Payment:
    found = repository.get(tx, payment_id)
    if found is None:
        raise NotFound("Payment not found")
    # The order first, then the attempt (the lock order of every payments transaction): a
    # cancellation applied meanwhile either is seen here or sees the charge.
    order = repository.get_order(tx, found.order_id, lock=True)
    payment = repository.get(tx, payment_id, lock=True)
    assert payment is not None
    if payment.status not in UNFINISHED:
        return payment  # another process finished this attempt already
    if result.needs_action:
        return _await_authentication(tx, payment, order, result)
    if not result.succeeded:
        return _fail(tx, payment, result.failure_message)
    charged = payment.with_status(SUCCEEDED, provider_ref=result.provider_ref, action_url=None)
    if order is not None and order.status == ORDER_STATUS_CANCELLED:
        charged = charged.with_status(REFUND_PENDING)
        repository.save(tx, charged, tx.now)
        return charged
    repository.save(tx, charged, tx.now)
    tx.emit(events.PAYMENT_CREATED, payment_data(charged))
    return charged


def _await_authentication(
    tx: Transaction, payment: Payment, order: OrderReplica | None, result: ChargeResult
) -> Payment:
    """The card asks its buyer to authenticate the charge: the order stops waiting for it
    (and expires at the end of its window unless the charge goes through before)."""
    if payment.status != PENDING:
        return payment  # known already (or being given up)
    ended = order is not None and order.status == ORDER_STATUS_CANCELLED
    waiting = payment.with_status(
        CANCELLING if ended else REQUIRES_ACTION,
        provider_ref=result.provider_ref,
        action_url=result.action_url,
    )
    repository.save(tx, waiting, tx.now)
    if not ended:
        tx.emit(events.PAYMENT_ACTION_REQUIRED, attempt_data(waiting))
    return waiting


def fail_abandoned(tx: Transaction, payment_id: str, message: str) -> None:
    payment = repository.get(tx, payment_id, lock=True)
    if payment is not None and payment.status == PENDING:
        _fail(tx, payment, message)


def _fail(tx: Transaction, payment: Payment, message: str | None) -> Payment:
    """Nothing was charged: the attempt ends, and its order stops waiting for it."""
    failed = payment.with_status(FAILED, failure_message=message, action_url=None)
    repository.save(tx, failed, tx.now)
    tx.emit(events.PAYMENT_FAILED, attempt_data(failed))
    return failed


def lease_stale(
    tx: Transaction, provider: str, lease: timedelta, order_id: str | None = None
) -> Payment | None:
    """Take one pending attempt of this provider that nobody drives (its process died, or
    could not tell the outcome), for `lease`: this process drives it again and no other does
    meanwhile. The recovery takes one that is due; `order_id` (its buyer's retry) takes
    that order's at once. Another provider's attempts are left to a process that has it."""
    if order_id is None:
        found = repository.stale(tx, tx.now, provider)
    else:
        found = repository.unleased_of(tx, tx.now, provider, order_id)
    return next((payment for payment in found if take(tx, payment.id, lease)), None)


def take(tx: Transaction, payment_id: str, lease: timedelta) -> bool:
    """Lease one pending attempt nobody drives (to settle it here); False if someone does."""
    return repository.lease(tx, payment_id, tx.now, tx.now + lease)


def any_stale(tx: Transaction, provider: str) -> bool:
    return repository.any_stale(tx, tx.now, provider)


def release(tx: Transaction, payment_id: str, backoff: timedelta) -> None:
    """The outcome is unknown: nobody drives the attempt now. Its buyer's retry asks the
    provider again at once; the recovery after `backoff` (not on every command while the
    provider is down)."""
    repository.release(tx, payment_id, tx.now, tx.now + backoff)


def raise_for_outcome(payment: Payment) -> Payment:
    """Turn a finished attempt into the answer the buyer gets."""
    if payment.status == FAILED:
        raise PaymentDeclined(payment.failure_message or "The card was declined", "card")
    if payment.status == CANCELLING:
        raise Conflict(
            "Cannot complete payment: the order expired or was cancelled before the card was "
            "authenticated; the payment is being cancelled (a charge made meanwhile is refunded)",
            "order_id",
        )
    if payment.status in (REFUND_PENDING, REFUNDED):
        done = "was refunded" if payment.status == REFUNDED else "is being refunded"
        raise Conflict(
            "Cannot complete payment: the order expired or was cancelled while paying (or its "
            f"ticket was no longer on sale as reserved); the charge of {payment.amount} {done}",
            "order_id",
        )
    return payment


def mark_for_refund(tx: Transaction, order_id: str) -> None:
    """The order ended: its charge is refunded, and an attempt still waiting for the card's
    authentication is given up (so that it cannot charge after all)."""
    payment = repository.live_for_order(tx, order_id)
    if payment is None:
        return
    if payment.status == SUCCEEDED:
        repository.save(tx, payment.with_status(REFUND_PENDING), tx.now)
    elif payment.status == REQUIRES_ACTION:
        repository.save(tx, payment.with_status(CANCELLING), tx.now)


def refunds_due(tx: Transaction) -> list[Payment]:
    return repository.with_status(tx, (REFUND_PENDING,))


def cancellations_due(tx: Transaction) -> list[Payment]:
    return repository.with_status(tx, (CANCELLING,))


def any_refund_due(tx: Transaction) -> bool:
    """Whether some charge is to be refunded, or given up before it is authenticated."""
    return repository.any_to_settle(tx)


REFUND_REASON = "order cancelled or expired before the payment completed"
REFUND_REASONS = {
    "refused": "the ticket was no longer on sale as reserved (its seller withdrew it)",
    "refunded": "its seller refunded the sale",
}


def record_refund(tx: Transaction, payment_id: str, refund_ref: str) -> None:
    payment = repository.get(tx, payment_id, lock=True)
    if payment is None or payment.status != REFUND_PENDING:
        return
    refunded = payment.with_status(REFUNDED)
    repository.save(tx, refunded, tx.now)
    order = repository.get_order(tx, payment.order_id)
    cancelled = None if order is None else order.cancel_reason
    reason = REFUND_REASONS.get(cancelled or "", REFUND_REASON)
    tx.emit(
        events.PAYMENT_REFUNDED,
        events.PaymentRefunded(**payment_data(refunded), refund_ref=refund_ref, reason=reason),
    )


def get_payment(tx: Transaction, payment_id: str) -> Payment:
    payment = repository.get(tx, payment_id)
    if payment is None:
        raise NotFound("Payment not found")
    return payment
