"""Payment flows that span a provider call: pay, settle refunds, reconcile. A provider call is
never made inside a database transaction."""

from __future__ import annotations

from openticket.core.errors import DomainError, Unavailable
from openticket.core.payments import repository, service
from openticket.core.payments.model import (
    FAILED,
    ORDER_CANCELLED,
    PENDING,
    REFUND_PENDING,
    REFUNDED,
    SUCCEEDED,
    Payment,
)
from openticket.core.payments.provider import ChargeResult, PaymentProvider
from openticket.core.schemas import ReconcileFinding, ReconcileReport
from openticket.store.uow import UnitOfWork

REFUND_REASON = "order cancelled or expired before the payment completed"


def pay(
    uow: UnitOfWork, provider: PaymentProvider, user_id: str, order_id: str, source: str
) -> Payment:
    """Charge for an order; returns the attempt as finished (succeeded, failed, or marked for
    refund when the order ended while the charge was under way)."""
    with uow.write() as tx:
        payment = service.begin_payment(tx, user_id, order_id, source, provider.name)
    try:
        result = provider.charge(payment.amount, payment.source, payment.idempotency_key)
    except DomainError as refused:  # e.g. an unknown token: the attempt is over
        with uow.write() as tx:
            service.fail_abandoned(tx, payment.id, refused.message)
        raise
    except Exception as error:
        # The outcome is unknown; the attempt stays pending and the next `pay` drives it
        # again with the same idempotency key, which cannot charge twice.
        raise Unavailable(f"The payment provider could not be reached: {error}") from None
    with uow.write() as tx:
        return service.finish_payment(tx, payment.id, result)


def settle_refunds(uow: UnitOfWork, provider: PaymentProvider) -> int:
    with uow.read() as tx:
        due = service.refunds_due(tx)
    for payment in due:
        assert payment.provider_ref is not None
        refund_ref = provider.refund(payment.provider_ref, f"openticket-refund-{payment.id}")
        with uow.write() as tx:
            service.record_refund(tx, payment.id, refund_ref, REFUND_REASON)
    return len(due)


def reconcile(uow: UnitOfWork, provider: PaymentProvider, *, fix: bool) -> ReconcileReport:
    """Compare recorded payments with the provider's charges; with `fix`, repair what can be."""
    with uow.read() as tx:
        recorded = [p for p in repository.all_payments(tx.conn) if p.provider == provider.name]
        orders = {p.order_id: repository.get_order(tx.conn, p.order_id) for p in recorded}
    findings: list[ReconcileFinding] = []
    fixed = 0
    for payment in recorded:
        charge = provider.find_charge(payment.idempotency_key)
        order = orders[payment.order_id]
        order_status = order.status if order is not None else "unknown"
        problem, action = None, "none"
        if payment.status == PENDING:
            if charge is not None:
                problem = "charge made but its outcome was never recorded"
                action = "record the outcome (completing or refunding the order)"
                if fix:
                    result = ChargeResult(charge.succeeded, charge.provider_ref)
                    with uow.write() as tx:
                        service.finish_payment(tx, payment.id, result)
            else:
                problem = "attempt interrupted before any charge"
                action = "mark the attempt failed"
                if fix:
                    with uow.write() as tx:
                        service.fail_abandoned(tx, payment.id, "interrupted before charging")
        elif payment.status == SUCCEEDED:
            if charge is None or not charge.succeeded or charge.refunded:
                problem = "completed order's charge is missing at the provider"
                action = "flagged for manual review"
            elif charge.amount != payment.amount:
                problem = f"charged {charge.amount} but recorded {payment.amount}"
                action = "flagged for manual review"
            elif order_status == ORDER_CANCELLED:
                problem = "charge kept for an order that was cancelled"
                action = "refund the charge"
                if fix:
                    with uow.write() as tx:
                        service.mark_for_refund(tx, payment.order_id)
        elif payment.status == REFUND_PENDING:
            problem = "charge for an order without a ticket is not refunded yet"
            action = "refund the charge"  # done by settle_refunds below
        elif payment.status == REFUNDED and charge is not None and not charge.refunded:
            problem = "recorded as refunded but the provider still holds the charge"
            action = "flagged for manual review"
        elif payment.status == FAILED and charge is not None and charge.succeeded:
            problem = "provider charged an attempt recorded as failed"
            action = "flagged for manual review"
        if problem is not None:
            findings.append(
                ReconcileFinding(
                    payment_id=payment.id, order_id=payment.order_id, problem=problem, action=action
                )
            )
            if fix and action not in ("none", "flagged for manual review"):
                fixed += 1
    if fix:
        settle_refunds(uow, provider)
    return ReconcileReport(checked=len(recorded), findings=findings, fixed=fixed)
