"""Reconciling payouts with the provider's transfers (part of `payments reconcile`): a payout
released without a transfer, a transfer no payout accounts for, amounts that differ, a
transfer taken back at the provider or kept for a reversed payout. `fix` repairs what is
safe: it records what the provider did, releases again a payout whose transfer is missing,
takes back a transfer kept for a reversed payout; the rest is flagged for a person."""

from __future__ import annotations

import logging
from collections import defaultdict
from functools import partial

from openticket.core.errors import Unavailable
from openticket.core.payments.model import Finding, Reconciliation
from openticket.core.payments.payouts import repository, service
from openticket.core.payments.payouts.model import HELD, RELEASED, REVERSED, Payout
from openticket.core.payments.provider import (
    OutcomeUnknown,
    PaymentProvider,
    TransferRecord,
    TransferRefused,
)
from openticket.core.ports import UnitOfWork

log = logging.getLogger("openticket.payouts")

FLAGGED = "flagged for manual review"
_RECORD_RELEASE = "record the release"
_RELEASE_AGAIN = "release it again"
_RECORD_REVERSAL = "record the reversal"
_REVERSE = "reverse the transfer"


def reconcile_transfers(uow: UnitOfWork, provider: PaymentProvider, *, fix: bool) -> Reconciliation:
    try:
        by_order: dict[str, list[TransferRecord]] = defaultdict(list)
        for transfer in provider.transfers():
            by_order[transfer.transfer_group].append(transfer)
    except OutcomeUnknown as unknown:
        raise Unavailable(str(unknown)) from None
    with uow.read() as tx:
        recorded = repository.every(tx)
    findings: list[Finding] = []
    fixed = 0
    for payout in recorded:
        found = _check(payout, by_order.pop(payout.order_id, []))
        if found is None:
            continue
        findings.append(found)
        if fix and found.action != FLAGGED:
            fixed += _repair(uow, provider, payout, found)
    for order_id, transfers in by_order.items():  # paid out, but no payout says why
        for transfer in transfers:
            if not transfer.reversed:
                findings.append(
                    _finding(None, order_id, transfer, "transfer with no recorded payout", FLAGGED)
                )
    return Reconciliation(checked=len(recorded), findings=findings, fixed=fixed)


def _check(payout: Payout, transfers: list[TransferRecord]) -> Finding | None:
    """What does not agree between a payout and its order's transfers; None if all does (or
    if its money is moving right now: the settling pass finishes that)."""
    kept = [transfer for transfer in transfers if not transfer.reversed]
    made = kept[0] if kept else (transfers[0] if transfers else None)
    if len(kept) > 1:
        return _finding(payout, payout.order_id, kept[1], "more than one transfer", FLAGGED)
    if kept and kept[0].amount != payout.net:
        problem = f"transferred {kept[0].amount} but the payout is {payout.net}"
        return _finding(payout, payout.order_id, kept[0], problem, FLAGGED)
    if payout.status == HELD and kept:
        problem = "transfer made for a payout recorded as held"
        return _finding(payout, payout.order_id, kept[0], problem, _RECORD_RELEASE)
    if payout.status == RELEASED and payout.net.minor > 0:
        if made is None:
            problem = "payout released without a transfer"
            return _finding(payout, payout.order_id, None, problem, _RELEASE_AGAIN)
        if not kept:
            problem = "transfer taken back at the provider"
            return _finding(payout, payout.order_id, made, problem, _RECORD_REVERSAL)
    if payout.status == REVERSED and kept:
        problem = "transfer kept for a reversed payout"
        return _finding(payout, payout.order_id, kept[0], problem, _REVERSE)
    return None


def _finding(
    payout: Payout | None,
    order_id: str,
    transfer: TransferRecord | None,
    problem: str,
    action: str,
) -> Finding:
    return Finding(
        payment_id=None,
        order_id=order_id,
        provider_ref=None if transfer is None else transfer.transfer_ref,
        problem=problem,
        action=action,
        payout_id=None if payout is None else payout.id,
    )


def _repair(uow: UnitOfWork, provider: PaymentProvider, payout: Payout, found: Finding) -> int:
    ref = found.provider_ref or ""
    if found.action == _RECORD_RELEASE:
        uow.transact(partial(service.found_transferred, payout_id=payout.id, transfer_ref=ref))
    elif found.action == _RELEASE_AGAIN:
        uow.transact(partial(service.found_untransferred, payout_id=payout.id))
    elif found.action == _RECORD_REVERSAL:
        uow.transact(partial(service.transfer_reversed, transfer_ref=ref))
    elif found.action == _REVERSE:
        try:
            provider.reverse_transfer(ref, payout.reversal_key)
        except TransferRefused as refused:  # the seller's balance is short: not fixed now
            log.error("payout %s: reconcile's reversal was refused: %s", payout.id, refused)
            return 0
        except OutcomeUnknown as unknown:
            raise Unavailable(str(unknown)) from None
    return 1
