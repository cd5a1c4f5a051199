"""Payout use cases: a completed order's payout, its release when the ticket proves good, its
reversal on refund, the seller's account and list."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from openticket.core import events
from openticket.core.payments import repository as payments
from openticket.core.payments.model import OrderReplica
from openticket.core.payments.payouts import repository
from openticket.core.payments.payouts.model import (
    HELD,
    REFUSED_RETRY,
    RELEASED,
    RELEASING,
    REVERSED,
    REVERSING,
    SHOWN_STATUS,
    Payout,
    PayoutTerms,
    SellerAccount,
    new_payout,
)
from openticket.core.payments.provider import AccountState
from openticket.core.ports import Transaction


def _announce(tx: Transaction, payout: Payout) -> None:
    data: events.PayoutChanged = {
        "id": payout.id,
        "order_id": payout.order_id,
        "status": SHOWN_STATUS[payout.status],
    }
    tx.emit(events.PAYOUT_UPDATED, data)


def on_order_completed(tx: Transaction, order: OrderReplica, terms: PayoutTerms) -> None:
    """The order's seller is owed its price less the fee, held until the ticket proves good."""
    if order.seller_id is None or order.ticket_id is None:
        return  # completed before payouts existed
    payout = new_payout(order.id, order.ticket_id, order.seller_id, order.price, terms, tx.now)
    proven = repository.checked_in_at(tx, order.ticket_id)  # heard of before the sale
    if proven is not None:
        payout = payout.proven_at(proven)
    if repository.add(tx, payout):
        _announce(tx, payout)


def _save_and_announce(tx: Transaction, before: Payout, after: Payout) -> None:
    """Write a changed payout; its event when what the seller sees of it changed."""
    repository.save(tx, after, tx.now)
    if SHOWN_STATUS[after.status] != SHOWN_STATUS[before.status]:
        _announce(tx, after)


def on_order_refunded(tx: Transaction, order_id: str) -> None:
    payout = repository.of_order(tx, order_id)
    changed = None if payout is None else payout.refunded()
    if payout is not None and changed is not None:
        _save_and_announce(tx, payout, changed)


def on_checked_in(tx: Transaction, ticket_id: str, at: datetime) -> None:
    """The ticket was used at the door: its sales' payouts are due now (and those of sales
    whose completion comes after this)."""
    repository.record_check_in(tx, ticket_id, at)
    for payout in repository.held_of_ticket(tx, ticket_id):
        proven = payout.proven_at(at)
        if proven != payout:
            repository.save(tx, proven, tx.now)


def payouts_of(tx: Transaction, seller_id: str) -> list[Payout]:
    return repository.of_seller(tx, seller_id)


def account_of(tx: Transaction, user_id: str) -> SellerAccount | None:
    return repository.account(tx, user_id)


def record_account(tx: Transaction, user_id: str, provider: str, state: AccountState) -> None:
    account = SellerAccount(
        user_id=user_id,
        provider=provider,
        account_ref=state.account_ref,
        charges_enabled=state.charges_enabled,
        payouts_enabled=state.payouts_enabled,
        onboarding_url=state.onboarding_url,
    )
    repository.save_account(tx, account, tx.now)


def any_due(tx: Transaction) -> bool:
    return bool(repository.due(tx, tx.now, 1) or repository.reversing(tx, tx.now, 1))


class Release(NamedTuple):
    payout: Payout
    account: SellerAccount
    charge_ref: str | None  # the charge that paid its order, at the provider


def start_release(tx: Transaction, payout_id: str) -> Release | None:
    """Mark a due payout as being released; it, the account to pay and the charge the money
    came from, or None if it is not due any more (another process released it, or it was
    refunded)."""
    payout = repository.get(tx, payout_id, lock=True)
    if payout is None or not payout.is_due(tx.now):
        return None
    account = repository.account(tx, payout.seller_id)
    if account is None or not account.payouts_enabled:
        return None
    if account.on_hold and payout.status != RELEASING:
        return None
    releasing = payout.releasing()
    repository.save(tx, releasing, tx.now)
    return Release(releasing, account, charge_of(tx, payout.order_id))


def charge_of(tx: Transaction, order_id: str) -> str | None:
    """The provider's reference of the charge that paid the order."""
    paid = payments.latest_for_order(tx, order_id)
    return None if paid is None else paid.provider_ref


def postpone_release(tx: Transaction, payout_id: str) -> None:
    """The provider refused the transfer (nothing moved): held again, and tried again after
    a while rather than on every pass."""
    payout = repository.get(tx, payout_id, lock=True)
    if payout is not None and payout.status == RELEASING:
        later = replace(
            payout,
            status=HELD,
            release_at=tx.now + REFUSED_RETRY,
            refused_transfers=payout.refused_transfers + 1,
        )
        repository.save(tx, later, tx.now)


def finish_release(tx: Transaction, payout_id: str, transfer_ref: str) -> None:
    payout = repository.get(tx, payout_id, lock=True)
    released = None if payout is None else payout.released(transfer_ref)
    if payout is not None and released is not None:
        _save_and_announce(tx, payout, released)


def reversing(tx: Transaction, payout_id: str) -> Payout | None:
    payout = repository.get(tx, payout_id, lock=True)
    return payout if payout is not None and payout.reversed() is not None else None


def postpone_reversal(tx: Transaction, payout_id: str) -> None:
    """The provider refused to take the transfer back: tried again after a while, with a key
    of its own (the payout stays as released meanwhile, which is where the money is)."""
    payout = repository.get(tx, payout_id, lock=True)
    if payout is not None and payout.status == REVERSING:
        later = replace(
            payout,
            release_at=tx.now + REFUSED_RETRY,
            refused_transfers=payout.refused_transfers + 1,
        )
        repository.save(tx, later, tx.now)


def finish_reversal(tx: Transaction, payout_id: str) -> None:
    payout = repository.get(tx, payout_id, lock=True)
    done = None if payout is None else payout.reversed()
    if payout is not None and done is not None:
        _save_and_announce(tx, payout, done)


def account_changed(tx: Transaction, state: AccountState) -> bool:
    """The provider says a seller's account changed (onboarding finished, payouts enabled or
    disabled); False for an account that is not one of ours."""
    account = repository.account_by_ref(tx, state.account_ref)
    if account is None:
        return False
    changed = replace(
        account,
        charges_enabled=state.charges_enabled,
        payouts_enabled=state.payouts_enabled,
        onboarding_url=None if state.payouts_enabled else account.onboarding_url,
    )
    repository.save_account(tx, changed, tx.now)
    return True


def found_transferred(tx: Transaction, payout_id: str, transfer_ref: str) -> None:
    """The provider has a transfer for a payout recorded as held (the store lost its
    release): it is released, with that transfer."""
    payout = repository.get(tx, payout_id, lock=True)
    if payout is not None and payout.status == HELD:
        released = replace(payout, status=RELEASED, transfer_ref=transfer_ref)
        _save_and_announce(tx, payout, released)


def found_untransferred(tx: Transaction, payout_id: str) -> None:
    """A payout recorded as released has no transfer at the provider: it is released again
    (the next pass makes the transfer, after looking for one under its order)."""
    payout = repository.get(tx, payout_id, lock=True)
    if payout is not None and payout.status == RELEASED:
        _save_and_announce(tx, payout, replace(payout, status=RELEASING, transfer_ref=None))


def transfer_reversed(tx: Transaction, transfer_ref: str) -> None:
    """The provider took a transfer back (from its dashboard, or our reversal): the payout is
    reversed, whoever started it."""
    payout = repository.of_transfer(tx, transfer_ref)
    if payout is None or payout.status == REVERSED:
        return
    _save_and_announce(tx, payout, replace(payout, status=REVERSED))


def disputed(tx: Transaction, order_id: str) -> None:
    """The buyer disputed the charge of `order_id`: its payout, and every payout of its seller
    not yet released, stay held until the dispute is closed."""
    payout = repository.of_order(tx, order_id)
    if payout is None:
        return
    if not payout.disputed:
        repository.save(tx, replace(payout, disputed=True), tx.now)
    repository.hold_account(tx, payout.seller_id, True, tx.now)


def dispute_closed(tx: Transaction, order_id: str, won: bool) -> None:
    """Won: the payout and the seller's others go on as before. Lost: the buyer got the money
    back, so nothing is owed (a released payout's transfer is taken back)."""
    payout = repository.of_order(tx, order_id)
    if payout is None or not payout.disputed:
        return
    settled = replace(payout, disputed=False)
    if not won:
        settled = settled.refunded() or settled
    _save_and_announce(tx, payout, settled)
    if not repository.any_disputed(tx, payout.seller_id):
        repository.hold_account(tx, payout.seller_id, False, tx.now)
