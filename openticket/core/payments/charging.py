"""Paying and refunding, use cases that span a provider call: a provider call is never made
inside a database transaction. (Reconciling with the provider: reconciling.py.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from openticket.core import faults
from openticket.core.errors import DomainError, Unavailable
from openticket.core.payments import service
from openticket.core.payments.model import (
    FAILED,
    REQUIRES_ACTION,
    SUCCEEDED,
    Payment,
)
from openticket.core.payments.provider import (
    OutcomeUnknown,
    PaymentProvider,
)
from openticket.core.ports import UnitOfWork

log = logging.getLogger("openticket.payments")

REDRIVE_BATCH = 20  # attempts driven again per call, one lease at a time


def pay(
    uow: UnitOfWork,
    provider: PaymentProvider,
    user_id: str,
    order_id: str,
    source: str,
    lease: timedelta,
    announce: Callable[[], None],
) -> Payment:
    """Charge for an order; returns the attempt as finished (succeeded, failed, or marked for
    refund when the order ended while the charge was under way). `announce` delivers what was
    committed: the order learns that a payment is under way before the card is charged."""
    payment = uow.transact(
        lambda tx: service.begin_payment(tx, user_id, order_id, source, provider.name, lease)
    )
    announce()
    faults.point("pay:attempt-recorded")
    try:
        result = provider.charge(
            payment.amount, payment.source, payment.idempotency_key, payment.order_id
        )
    except DomainError as refused:  # e.g. an unknown token: nothing was charged
        uow.transact(
            partial(service.fail_abandoned, payment_id=payment.id, message=refused.message)
        )
        raise
    except Exception as error:
        # The next `pay`, or the worker loop, drives the attempt again with the same
        # idempotency key, which cannot charge twice; the order waits for it meanwhile.
        _release(uow, payment, lease)
        raise _unavailable(error) from None
    faults.point("pay:charged")
    finished = uow.transact(lambda tx: service.finish_payment(tx, payment.id, result))
    faults.point("pay:recorded")
    return finished


def resume(
    uow: UnitOfWork,
    provider: PaymentProvider,
    lease: timedelta,
    user_id: str,
    order_id: str,
    source: str,
) -> Payment | None:
    """Before a new attempt: drive an attempt of this buyer's order that was left behind (a
    crash, an unknown outcome). If it went through with this very card, it is the payment
    this request asks for (a retry after "try again"), returned; else None."""
    with uow.read() as tx:
        if not service.is_buyer(tx, user_id, order_id):
            return None  # begin_payment says why not; the catch-up recovers the attempt

    def still_unknown(earlier: Payment, error: Exception) -> None:
        _release(uow, earlier, lease)  # this request's retry may ask again at once
        raise _unavailable(error)

    finished = redrive_stale(uow, provider, lease, order_id=order_id, on_unknown=still_unknown)
    return next((p for p in finished if p.status == SUCCEEDED and p.source == source), None)


def waiting_for_authentication(
    uow: UnitOfWork, provider: PaymentProvider, user_id: str, order_id: str, source: str
) -> Payment | None:
    """Before a new attempt: the order's attempt that waits for its card's authentication,
    asked about again. Authenticated and charged, or still waiting for this very card: that
    is the answer to this request. Still waiting for another card: the buyer gives it up
    (cancelled at the provider first, so that it cannot charge as well). None when a new
    attempt may begin."""
    with uow.read() as tx:
        waiting = service.awaiting_authentication(tx, user_id, order_id)
    if waiting is None:
        return None
    finished = _ask_again(uow, provider, waiting, give_up=waiting.source != source)
    return None if finished.status == FAILED else finished


def check(uow: UnitOfWork, provider: PaymentProvider, user_id: str, order_id: str) -> Payment:
    """The buyer's latest attempt for the order, asking the provider first about one that
    waits for the card's authentication (`pay --check`)."""
    with uow.read() as tx:
        latest = service.latest_attempt(tx, user_id, order_id)
    if latest.status != REQUIRES_ACTION:
        return latest
    return _ask_again(uow, provider, latest, give_up=False)


def _ask_again(
    uow: UnitOfWork, provider: PaymentProvider, waiting: Payment, *, give_up: bool
) -> Payment:
    """Finish an attempt that waits for authentication as the provider now tells it (with
    `give_up`, one still waiting is cancelled there first)."""
    assert waiting.provider_ref is not None
    try:
        result = provider.charge_outcome(waiting.provider_ref)
        if result.needs_action and give_up:
            result = provider.cancel_charge(waiting.provider_ref, _cancel_key(waiting))
    except Exception as error:
        raise _unavailable(error) from None
    return uow.transact(partial(service.finish_payment, payment_id=waiting.id, result=result))


def _cancel_key(payment: Payment) -> str:
    return f"{payment.idempotency_key}-cancel"


def _release(uow: UnitOfWork, payment: Payment, backoff: timedelta) -> None:
    uow.transact(lambda tx: service.release(tx, payment.id, backoff))


def _unavailable(error: Exception) -> Unavailable:
    if isinstance(error, OutcomeUnknown):
        return Unavailable(f"{error} The order stays payable: try again.")
    log.warning("payment provider call failed: %s", type(error).__name__)
    return Unavailable(
        "The payment provider could not be reached. The order stays payable: try again."
    )


def redrive_stale(
    uow: UnitOfWork,
    provider: PaymentProvider,
    lease: timedelta,
    *,
    order_id: str | None = None,
    on_unknown: Callable[[Payment, Exception], None] | None = None,
) -> list[Payment]:
    """Drive again, with their own idempotency keys and cards, the pending attempts whose
    lease is over: their process died between charging and recording, or could not tell
    the outcome. A charge that went through completes its order if it still can, and is
    refunded otherwise; one the provider still cannot answer for is tried again after
    `lease`. Returns the attempts that finished."""
    finished = []
    for _ in range(REDRIVE_BATCH):
        payment = uow.transact(lambda tx: service.lease_stale(tx, provider.name, lease, order_id))
        if payment is None:
            break
        try:
            result = provider.charge(
                payment.amount, payment.source, payment.idempotency_key, payment.order_id
            )
        except DomainError as refused:
            why = refused.message
            uow.transact(partial(service.fail_abandoned, payment_id=payment.id, message=why))
            continue
        except Exception as error:  # still unknown
            log.warning("payment %s still has no outcome: %s", payment.id, type(error).__name__)
            if on_unknown is not None:
                on_unknown(payment, error)
            _release(uow, payment, lease)
            continue
        finish = partial(service.finish_payment, payment_id=payment.id, result=result)
        finished.append(uow.transact(finish))
        log.info("payment %s was driven again: %s", payment.id, finished[-1].status)
    return finished


def settle_refunds(uow: UnitOfWork, provider: PaymentProvider) -> int:
    """Give up the attempts whose order ended while they waited for authentication, then
    refund every charge marked for refund (one of those, too, if it went through just
    before); what the provider cannot take now stays marked and is retried by the next
    command (or `payments reconcile --fix`)."""
    settled = _give_up_cancelled(uow, provider)
    with uow.read() as tx:
        due = service.refunds_due(tx)
    for payment in due:
        assert payment.provider_ref is not None
        try:
            refund_ref = provider.refund(payment.provider_ref, f"openticket-refund-{payment.id}")
        except OutcomeUnknown as unknown:
            log.warning("refund of payment %s postponed: %s", payment.id, unknown)
            continue
        uow.transact(partial(service.record_refund, payment_id=payment.id, refund_ref=refund_ref))
        settled += 1
    return settled


def _give_up_cancelled(uow: UnitOfWork, provider: PaymentProvider) -> int:
    with uow.read() as tx:
        due = service.cancellations_due(tx)
    settled = 0
    for payment in due:
        assert payment.provider_ref is not None
        try:
            result = provider.cancel_charge(payment.provider_ref, _cancel_key(payment))
        except OutcomeUnknown as unknown:
            log.warning("cancelling payment %s postponed: %s", payment.id, unknown)
            continue
        uow.transact(partial(service.finish_payment, payment_id=payment.id, result=result))
        settled += 1
    return settled
