"""Reconciling recorded payments with the provider's charges (and payouts with its transfers:
payouts/reconciling.py), and repairing what can be."""

from __future__ import annotations

import re
from datetime import timedelta

from openticket.core.errors import Unavailable
from openticket.core.payments import model, repository, service
from openticket.core.payments.charging import settle_refunds
from openticket.core.payments.model import Finding, Payment, Reconciliation
from openticket.core.payments.payouts.reconciling import reconcile_transfers
from openticket.core.payments.provider import (
    ChargeRecord,
    ChargeResult,
    OutcomeUnknown,
    PaymentProvider,
)
from openticket.core.ports import Transaction, UnitOfWork

FLAGGED = "flagged for manual review"
_ORDER_IN_KEY = re.compile(r"^openticket-([0-9a-f]{32})-\d+$")
RECONCILE_LEASE = timedelta(seconds=60)


def _finding(payment: Payment, problem: str, action: str) -> Finding:
    return Finding(
        payment_id=payment.id,
        order_id=payment.order_id,
        provider_ref=payment.provider_ref,
        problem=problem,
        action=action,
    )


def reconcile(uow: UnitOfWork, provider: PaymentProvider, *, fix: bool) -> Reconciliation:
    """Compare recorded payments with the provider's charges; with `fix`, repair what can be."""
    try:
        charges = {charge.idempotency_key: charge for charge in provider.charges()}
    except OutcomeUnknown as unknown:
        raise Unavailable(str(unknown)) from None
    with uow.read() as tx:
        recorded = [p for p in repository.all_payments(tx) if p.provider == provider.name]
        orders = {p.order_id: repository.get_order(tx, p.order_id) for p in recorded}
    findings: list[Finding] = []
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
            Finding(
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
    paid_out = reconcile_transfers(uow, provider, fix=fix)
    return Reconciliation(
        checked=len(recorded),
        payouts_checked=paid_out.checked,
        findings=findings + paid_out.findings,
        fixed=fixed + paid_out.fixed,
    )


def _check(payment: Payment, charge: ChargeRecord | None, order_status: str) -> Finding | None:
    if payment.status == model.PENDING:
        if charge is not None and charge.waiting:
            return None  # the recovery asks again with its key, and records the page to open
        if charge is not None:
            return _finding(
                payment,
                "charge made but its outcome was never recorded",
                "record the outcome (completing or refunding the order)",
            )
        return _finding(payment, "attempt interrupted before any charge", "mark the attempt failed")
    if payment.status == model.SUCCEEDED:
        if charge is None or not charge.succeeded or charge.refunded:
            return _finding(payment, "completed order's charge is missing at the provider", FLAGGED)
        if charge.amount != payment.amount:
            return _finding(
                payment, f"charged {charge.amount} but recorded {payment.amount}", FLAGGED
            )
        if order_status == model.ORDER_STATUS_CANCELLED:
            return _finding(
                payment, "charge kept for an order that was cancelled", "refund the charge"
            )
    if payment.status == model.REQUIRES_ACTION and charge is not None and charge.succeeded:
        return _finding(
            payment,
            "card authenticated and charged, but the outcome was never recorded",
            "record the outcome (completing or refunding the order)",
        )
    if payment.status == model.REFUND_PENDING:
        return _finding(
            payment, "charge for an order without a ticket is not refunded yet", "refund the charge"
        )
    if payment.status == model.REFUNDED and charge is not None and not charge.refunded:
        return _finding(
            payment, "recorded as refunded but the provider still holds the charge", FLAGGED
        )
    if (
        payment.status == model.FAILED
        and charge is not None
        and charge.succeeded
        and not charge.refunded
    ):
        return _finding(payment, "provider charged an attempt recorded as failed", FLAGGED)
    return None


def _repair(uow: UnitOfWork, payment: Payment, charge: ChargeRecord | None) -> bool:
    """Repair one finding; False when a pending attempt was taken by another process (the
    recovery drives it) since it was read."""

    def repair(tx: Transaction) -> bool:
        if payment.status == model.PENDING and not service.take(tx, payment.id, RECONCILE_LEASE):
            return False
        if payment.status in (model.PENDING, model.REQUIRES_ACTION) and charge is not None:
            result = ChargeResult(charge.succeeded, charge.provider_ref)
            service.finish_payment(tx, payment.id, result)
        elif payment.status == model.PENDING:
            service.fail_abandoned(tx, payment.id, "interrupted before charging")
        elif payment.status == model.SUCCEEDED:
            service.mark_for_refund(tx, payment.order_id)
        # REFUND_PENDING is refunded by settle_refunds at the end of the run.
        return True

    return uow.transact(repair)  # take() locks the attempt before its order: may deadlock


def _refund_orphan(provider: PaymentProvider, charge: ChargeRecord) -> None:
    try:
        provider.refund(charge.provider_ref, f"openticket-refund-{charge.idempotency_key}")
    except OutcomeUnknown as unknown:
        raise Unavailable(str(unknown)) from None
