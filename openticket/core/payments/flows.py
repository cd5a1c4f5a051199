"""Payment flows that span a provider call: pay, settle refunds, reconcile. A provider call is
never made inside a database transaction."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta

from openticket.core import faults
from openticket.core.errors import DomainError, Unavailable
from openticket.core.payments import repository, service
from openticket.core.payments.model import (
    FAILED,
    ORDER_STATUS_CANCELLED,
    PENDING,
    REFUND_PENDING,
    REFUNDED,
    SUCCEEDED,
    Payment,
)
from openticket.core.payments.provider import (
    ChargeRecord,
    ChargeResult,
    OutcomeUnknown,
    PaymentProvider,
)
from openticket.core.ports import UnitOfWork
from openticket.core.schemas import ReconcileFinding, ReconcileReport

log = logging.getLogger("openticket.payments")

REFUND_REASON = "order cancelled or expired before the payment completed"
FLAGGED = "flagged for manual review"
_ORDER_IN_KEY = re.compile(r"^openticket-([0-9a-f]{32})-\d+$")


REDRIVE_BATCH = 20  # attempts driven again per call, one lease at a time
RECONCILE_LEASE = timedelta(seconds=60)


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
    with uow.write() as tx:
        payment = service.begin_payment(tx, user_id, order_id, source, provider.name, lease)
    announce()
    faults.point("pay:attempt-recorded")
    try:
        result = provider.charge(payment.amount, payment.source, payment.idempotency_key)
    except DomainError as refused:  # e.g. an unknown token: nothing was charged
        with uow.write() as tx:
            service.fail_abandoned(tx, payment.id, refused.message)
        raise
    except Exception as error:
        # The next `pay`, or the worker loop, drives the attempt again with the same
        # idempotency key, which cannot charge twice; the order waits for it meanwhile.
        _release(uow, payment, lease)
        raise _unavailable(error) from None
    faults.point("pay:charged")
    with uow.write() as tx:
        finished = service.finish_payment(tx, payment.id, result)
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


def _release(uow: UnitOfWork, payment: Payment, backoff: timedelta) -> None:
    with uow.write() as tx:
        service.release(tx, payment.id, backoff)


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
        with uow.write() as tx:
            payment = service.lease_stale(tx, provider.name, lease, order_id)
        if payment is None:
            break
        try:
            result = provider.charge(payment.amount, payment.source, payment.idempotency_key)
        except DomainError as refused:
            with uow.write() as tx:
                service.fail_abandoned(tx, payment.id, refused.message)
            continue
        except Exception as error:  # still unknown
            log.warning("payment %s still has no outcome: %s", payment.id, type(error).__name__)
            if on_unknown is not None:
                on_unknown(payment, error)
            _release(uow, payment, lease)
            continue
        with uow.write() as tx:
            finished.append(service.finish_payment(tx, payment.id, result))
        log.info("payment %s was driven again: %s", payment.id, finished[-1].status)
    return finished


def settle_refunds(uow: UnitOfWork, provider: PaymentProvider) -> int:
    """Refund every charge marked for refund; one the provider cannot take now stays marked
    and is retried by the next command (or `payments reconcile --fix`)."""
    with uow.read() as tx:
        due = service.refunds_due(tx)
    settled = 0
    for payment in due:
        assert payment.provider_ref is not None
        try:
            refund_ref = provider.refund(payment.provider_ref, f"openticket-refund-{payment.id}")
        except OutcomeUnknown as unknown:
            log.warning("refund of payment %s postponed: %s", payment.id, unknown)
            continue
        with uow.write() as tx:
            service.record_refund(tx, payment.id, refund_ref, REFUND_REASON)
        settled += 1
    return settled


def _finding(payment: Payment, problem: str, action: str) -> ReconcileFinding:
    return ReconcileFinding(
        payment_id=payment.id,
        order_id=payment.order_id,
        provider_ref=payment.provider_ref,
        problem=problem,
        action=action,
    )


def reconcile(uow: UnitOfWork, provider: PaymentProvider, *, fix: bool) -> ReconcileReport:
    """Compare recorded payments with the provider's charges; with `fix`, repair what can be."""
    try:
        charges = {charge.idempotency_key: charge for charge in provider.charges()}
    except OutcomeUnknown as unknown:
        raise Unavailable(str(unknown)) from None
    with uow.read() as tx:
        recorded = [p for p in repository.all_payments(tx) if p.provider == provider.name]
        orders = {p.order_id: repository.get_order(tx, p.order_id) for p in recorded}
    findings: list[ReconcileFinding] = []
    fixed = 0
    now = uow.clock()
    for payment in recorded:
        charge = charges.pop(payment.idempotency_key, None)
        if payment.is_driven(now):
            continue  # being charged right now: its process records the outcome
        order = orders[payment.order_id]
        finding = _check(payment, charge, order.status if order is not None else "unknown")
        if finding is None:
            continue
        findings.append(finding)
        if fix and finding.action != FLAGGED and _repair(uow, payment, charge):
            fixed += 1
    for charge in charges.values():  # charged through us, but no payment records it
        if not charge.succeeded or charge.refunded:
            continue
        order_match = _ORDER_IN_KEY.match(charge.idempotency_key)
        findings.append(
            ReconcileFinding(
                payment_id=None,
                order_id=order_match.group(1) if order_match else None,
                provider_ref=charge.provider_ref,
                problem="charge with no recorded payment",
                action="refund the charge",
            )
        )
        if fix:
            _refund_orphan(provider, charge)
            fixed += 1
    if fix:
        settle_refunds(uow, provider)
    return ReconcileReport(checked=len(recorded), findings=findings, fixed=fixed)


def _check(
    payment: Payment, charge: ChargeRecord | None, order_status: str
) -> ReconcileFinding | None:
    if payment.status == PENDING:
        if charge is not None:
            return _finding(
                payment,
                "charge made but its outcome was never recorded",
                "record the outcome (completing or refunding the order)",
            )
        return _finding(payment, "attempt interrupted before any charge", "mark the attempt failed")
    if payment.status == SUCCEEDED:
        if charge is None or not charge.succeeded or charge.refunded:
            return _finding(payment, "completed order's charge is missing at the provider", FLAGGED)
        if charge.amount != payment.amount:
            return _finding(
                payment, f"charged {charge.amount} but recorded {payment.amount}", FLAGGED
            )
        if order_status == ORDER_STATUS_CANCELLED:
            return _finding(
                payment, "charge kept for an order that was cancelled", "refund the charge"
            )
    if payment.status == REFUND_PENDING:
        return _finding(
            payment, "charge for an order without a ticket is not refunded yet", "refund the charge"
        )
    if payment.status == REFUNDED and charge is not None and not charge.refunded:
        return _finding(
            payment, "recorded as refunded but the provider still holds the charge", FLAGGED
        )
    if payment.status == FAILED and charge is not None and charge.succeeded and not charge.refunded:
        return _finding(payment, "provider charged an attempt recorded as failed", FLAGGED)
    return None


def _repair(uow: UnitOfWork, payment: Payment, charge: ChargeRecord | None) -> bool:
    """Repair one finding; False when a pending attempt was taken by another process (the
    recovery drives it) since it was read."""
    with uow.write() as tx:
        if payment.status == PENDING and not service.take(tx, payment.id, RECONCILE_LEASE):
            return False
        if payment.status == PENDING and charge is not None:
            result = ChargeResult(charge.succeeded, charge.provider_ref)
            service.finish_payment(tx, payment.id, result)
        elif payment.status == PENDING:
            service.fail_abandoned(tx, payment.id, "interrupted before charging")
        elif payment.status == SUCCEEDED:
            service.mark_for_refund(tx, payment.order_id)
        # REFUND_PENDING is refunded by settle_refunds at the end of the run.
    return True


def _refund_orphan(provider: PaymentProvider, charge: ChargeRecord) -> None:
    try:
        provider.refund(charge.provider_ref, f"openticket-refund-{charge.idempotency_key}")
    except OutcomeUnknown as unknown:
        raise Unavailable(str(unknown)) from None
