"""Moving payouts' money at the provider: releases that are due, and reversals of refunded
ones. Outside any transaction (the provider is a network call): a payout is marked
`releasing` first, and its transfer made under the payout's own idempotency key, so a process
that dies half-way is followed up by the next pass without paying twice. A transfer names its
order (`transfer_group`), and one made before is looked up by it first: a provider forgets
idempotency keys after a while (Stripe: a day), and a follow-up after that must not pay
again."""

from __future__ import annotations

import logging
from functools import partial

from openticket.core import faults
from openticket.core.payments.payouts import repository, service
from openticket.core.payments.payouts.model import Payout
from openticket.core.payments.provider import OutcomeUnknown, PaymentProvider, TransferRefused
from openticket.core.ports import UnitOfWork

log = logging.getLogger("openticket.payouts")

BATCH = 100


def settle_payouts(uow: UnitOfWork, provider: PaymentProvider) -> int:
    """Release every due payout and reverse every refunded one; how many changed."""
    with uow.read() as tx:
        due = repository.due(tx, tx.now, BATCH)
        refunded = repository.reversing(tx, tx.now, BATCH)
    released = sum(_release(uow, provider, payout_id) for payout_id in due)
    return released + sum(_reverse(uow, provider, payout_id) for payout_id in refunded)


def _release(uow: UnitOfWork, provider: PaymentProvider, payout_id: str) -> int:
    started = uow.transact(partial(service.start_release, payout_id=payout_id))
    if started is None:
        return 0
    payout, account, charge_ref = started
    if payout.net.minor == 0:  # all of it was the fee: nothing to move
        uow.transact(partial(service.finish_release, payout_id=payout_id, transfer_ref=""))
        return 1
    try:
        ref = _made_before(provider, payout) or provider.transfer(
            account.account_ref,
            payout.net,
            payout.transfer_key,
            payout.order_id,
            source_charge=charge_ref,
        )
    except TransferRefused as refused:
        log.warning("payout %s refused, held again for a while: %s", payout.id, refused)
        uow.transact(partial(service.postpone_release, payout_id=payout_id))
        return 0
    except OutcomeUnknown as error:
        log.warning("payout %s not transferred yet: %s", payout.id, error)
        return 0
    faults.point("payout:transferred")  # a crash here leaves it `releasing`: made again
    uow.transact(partial(service.finish_release, payout_id=payout_id, transfer_ref=ref))
    return 1


def _reverse(uow: UnitOfWork, provider: PaymentProvider, payout_id: str) -> int:
    with uow.read() as tx:
        payout = service.reversing(tx, payout_id)
        account = None if payout is None else repository.account(tx, payout.seller_id)
        charge_ref = None if payout is None else service.charge_of(tx, payout.order_id)
    if payout is None or account is None:
        return 0
    if payout.net.minor == 0:
        uow.transact(partial(service.finish_reversal, payout_id=payout_id))
        return 1
    try:
        # The transfer made, or (if none is known: the release never got that far, or it is
        # under way elsewhere) the one under the payout's key, made now if need be only to be
        # taken back, so that none is left behind.
        ref = (
            payout.transfer_ref
            or _made_before(provider, payout)
            or provider.transfer(
                account.account_ref,
                payout.net,
                payout.transfer_key,
                payout.order_id,
                source_charge=charge_ref,
            )
        )
    except TransferRefused:
        ref = None  # no transfer under its key, nor one to be made: nothing to take back
    except OutcomeUnknown as error:
        log.warning("payout %s not reversed yet: %s", payout.id, error)
        return 0
    try:
        if ref is not None:
            provider.reverse_transfer(ref, payout.reversal_key)
    except TransferRefused as refused:
        log.error("payout %s: the reversal was refused, tried again later: %s", payout.id, refused)
        uow.transact(partial(service.postpone_reversal, payout_id=payout_id))
        return 0
    except OutcomeUnknown as error:
        log.warning("payout %s not reversed yet: %s", payout.id, error)
        return 0
    uow.transact(partial(service.finish_reversal, payout_id=payout_id))
    return 1


def _made_before(provider: PaymentProvider, payout: Payout) -> str | None:
    """The transfer that pays this payout's order, if one was made (and not taken back)."""
    made = (t for t in provider.transfers(payout.order_id) if not t.reversed)
    return next((transfer.transfer_ref for transfer in made), None)
