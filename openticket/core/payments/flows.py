"""Payment flows that span a provider call: pay, settle refunds, reconcile. A provider call is
never made inside a database transaction."""

from __future__ import annotations

import logging
import re

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
from openticket.core.payments.provider import (
    ChargeRecord,
    ChargeResult,
    OutcomeUnknown,
    PaymentProvider,
)
from openticket.core.schemas import ReconcileFinding, ReconcileReport
from openticket.store.uow import UnitOfWork

log = logging.getLogger("openticket.payments")

REFUND_REASON = "order cancelled or expired before the payment completed"
FLAGGED = "flagged for manual review"
_ORDER_IN_KEY = re.compile(r"^openticket-([0-9a-f]{32})-\d+$")


def pay(
    uow: UnitOfWork, provider: PaymentProvider, user_id: str, order_id: str, source: str
) -> Payment:
    """Charge for an order; returns the attempt as finished (succeeded, failed, or marked for
    refund when the order ended while the charge was under way)."""
    with uow.write() as tx:
        payment = service.begin_payment(tx, user_id, order_id, source, provider.name)
    try:
        result = provider.charge(payment.amount, payment.source, payment.idempotency_key)
    except DomainError as refused:  # e.g. an unknown token: nothing was charged
        with uow.write() as tx:
            service.fail_abandoned(tx, payment.id, refused.message)
        raise
    except OutcomeUnknown as unknown:
        # The attempt stays pending and the next `pay` drives it again with the same
        # idempotency key, which cannot charge twice.
        raise Unavailable(f"{unknown} The order stays payable: try again.") from None
    except Exception as error:
        log.warning("payment provider call failed: %s", type(error).__name__)
        raise Unavailable(
            "The payment provider could not be reached. The order stays payable: try again."
        ) from None
    with uow.write() as tx:
        return service.finish_payment(tx, payment.id, result)


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
        recorded = [p for p in repository.all_payments(tx.conn) if p.provider == provider.name]
        orders = {p.order_id: repository.get_order(tx.conn, p.order_id) for p in recorded}
    findings: list[ReconcileFinding] = []
    fixed = 0
    for payment in recorded:
        charge = charges.pop(payment.idempotency_key, None)
        order = orders[payment.order_id]
        finding = _check(payment, charge, order.status if order is not None else "unknown")
        if finding is None:
            continue
        findings.append(finding)
        if fix and finding.action != FLAGGED:
            _repair(uow, payment, charge)
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
        if order_status == ORDER_CANCELLED:
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


def _repair(uow: UnitOfWork, payment: Payment, charge: ChargeRecord | None) -> None:
    with uow.write() as tx:
        if payment.status == PENDING and charge is not None:
            result = ChargeResult(charge.succeeded, charge.provider_ref)
            service.finish_payment(tx, payment.id, result)
        elif payment.status == PENDING:
            service.fail_abandoned(tx, payment.id, "interrupted before charging")
        elif payment.status == SUCCEEDED:
            service.mark_for_refund(tx, payment.order_id)
        # REFUND_PENDING is refunded by settle_refunds at the end of the run.


def _refund_orphan(provider: PaymentProvider, charge: ChargeRecord) -> None:
    try:
        provider.refund(charge.provider_ref, f"openticket-refund-{charge.idempotency_key}")
    except OutcomeUnknown as unknown:
        raise Unavailable(str(unknown)) from None
