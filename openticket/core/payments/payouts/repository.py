from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update

from openticket.core.payments.payouts.model import (
    HELD,
    RELEASING,
    REVERSING,
    Payout,
    SellerAccount,
)
from openticket.core.payments.payouts.tables import check_ins, payouts, seller_accounts
from openticket.core.ports import Transaction
from openticket.store.insert_new import insert_new
from openticket.store.rows import Reader
from openticket.store.uow import connection

_payout = Reader(Payout)
_account = Reader(SellerAccount)

_BY_ID = select(payouts).where(payouts.c.id == bindparam("payout_id"))
_BY_ORDER = select(payouts).where(payouts.c.order_id == bindparam("order_id")).with_for_update()
_HELD_OF_TICKET = (
    select(payouts)
    .where(payouts.c.ticket_id == bindparam("ticket_id"), payouts.c.status == HELD)
    .order_by(payouts.c.id)
    .with_for_update()
)
_OF_SELLER = (
    select(payouts)
    .where(payouts.c.seller_id == bindparam("seller_id"))
    .order_by(payouts.c.created_at.desc(), payouts.c.id)
)
_DUE = (
    select(payouts.c.id)
    .join(seller_accounts, seller_accounts.c.user_id == payouts.c.seller_id)
    .where(
        or_(
            (payouts.c.status == HELD)
            & (payouts.c.release_at <= bindparam("now"))
            & ~payouts.c.disputed
            & ~seller_accounts.c.on_hold,
            payouts.c.status == RELEASING,
        ),
        seller_accounts.c.payouts_enabled,
    )
    .order_by(payouts.c.release_at, payouts.c.id)
)
# A reversal the provider refused is tried again from `release_at` on.
_REVERSING = (
    select(payouts.c.id)
    .where(payouts.c.status == REVERSING, payouts.c.release_at <= bindparam("now"))
    .order_by(payouts.c.id)
)
_SAVE = (
    update(payouts)
    .where(payouts.c.id == bindparam("b_id"))
    .values(
        status=bindparam("status"),
        release_at=bindparam("release_at"),
        transfer_ref=bindparam("transfer_ref"),
        disputed=bindparam("disputed"),
        refused_transfers=bindparam("refused_transfers"),
        updated_at=bindparam("updated_at"),
    )
)
_ACCOUNT = select(seller_accounts).where(seller_accounts.c.user_id == bindparam("user_id"))


def add(tx: Transaction, payout: Payout) -> bool:
    """Record a new payout; False when its order has one already (a redelivered event)."""
    values: dict[str, Any] = {
        "id": payout.id,
        "order_id": payout.order_id,
        "ticket_id": payout.ticket_id,
        "seller_id": payout.seller_id,
        "gross_minor": payout.gross.minor,
        "currency": payout.gross.currency,
        "fee_minor": payout.fee.minor,
        "status": payout.status,
        "release_at": payout.release_at,
        "transfer_ref": payout.transfer_ref,
        "disputed": payout.disputed,
        "refused_transfers": payout.refused_transfers,
        "created_at": payout.created_at,
        "updated_at": payout.created_at,
    }
    return insert_new(connection(tx), payouts, values)


def save(tx: Transaction, payout: Payout, now: datetime) -> None:
    connection(tx).execute(
        _SAVE,
        {
            "b_id": payout.id,
            "status": payout.status,
            "release_at": payout.release_at,
            "transfer_ref": payout.transfer_ref,
            "disputed": payout.disputed,
            "refused_transfers": payout.refused_transfers,
            "updated_at": now,
        },
    )


def get(tx: Transaction, payout_id: str, *, lock: bool = False) -> Payout | None:
    query = _BY_ID.with_for_update() if lock else _BY_ID
    return _payout.first(connection(tx).execute(query, {"payout_id": payout_id}))


def of_order(tx: Transaction, order_id: str) -> Payout | None:
    """The order's payout, locked."""
    return _payout.first(connection(tx).execute(_BY_ORDER, {"order_id": order_id}))


def held_of_ticket(tx: Transaction, ticket_id: str) -> list[Payout]:
    rows = connection(tx).execute(_HELD_OF_TICKET, {"ticket_id": ticket_id})
    return [_payout(row) for row in rows]


def of_seller(tx: Transaction, seller_id: str) -> list[Payout]:
    return [_payout(row) for row in connection(tx).execute(_OF_SELLER, {"seller_id": seller_id})]


def due(tx: Transaction, now: datetime, limit: int) -> list[str]:
    """Held payouts whose time has come and whose seller can be paid, oldest first."""
    rows = connection(tx).execute(_DUE.limit(limit), {"now": now})
    return [row.id for row in rows]


def reversing(tx: Transaction, now: datetime, limit: int) -> list[str]:
    rows = connection(tx).execute(_REVERSING.limit(limit), {"now": now})
    return [row.id for row in rows]


def account(tx: Transaction, user_id: str) -> SellerAccount | None:
    return _account.first(connection(tx).execute(_ACCOUNT, {"user_id": user_id}))


def save_account(tx: Transaction, account: SellerAccount, now: datetime) -> None:
    """Record the seller's account, or its new state."""
    conn = connection(tx)
    values = {
        "provider": account.provider,
        "account_ref": account.account_ref,
        "charges_enabled": account.charges_enabled,
        "payouts_enabled": account.payouts_enabled,
        "onboarding_url": account.onboarding_url,
        "updated_at": now,
    }
    done = conn.execute(
        update(seller_accounts).where(seller_accounts.c.user_id == account.user_id).values(values)
    )
    if done.rowcount == 0:
        insert_new(conn, seller_accounts, values | {"user_id": account.user_id, "created_at": now})


def every(tx: Transaction) -> list[Payout]:
    """Every payout, oldest first (reconciliation)."""
    query = select(payouts).order_by(payouts.c.created_at, payouts.c.id)
    return [_payout(row) for row in connection(tx).execute(query)]


def of_transfer(tx: Transaction, transfer_ref: str) -> Payout | None:
    """The payout a provider's transfer paid, locked."""
    query = select(payouts).where(payouts.c.transfer_ref == transfer_ref).with_for_update()
    return _payout.first(connection(tx).execute(query))


def account_by_ref(tx: Transaction, account_ref: str) -> SellerAccount | None:
    query = select(seller_accounts).where(seller_accounts.c.account_ref == account_ref)
    return _account.first(connection(tx).execute(query))


def hold_account(tx: Transaction, user_id: str, on_hold: bool, now: datetime) -> None:
    connection(tx).execute(
        update(seller_accounts)
        .where(seller_accounts.c.user_id == user_id)
        .values(on_hold=on_hold, updated_at=now)
    )


def any_disputed(tx: Transaction, seller_id: str) -> bool:
    query = select(payouts.c.id).where(payouts.c.seller_id == seller_id, payouts.c.disputed)
    return connection(tx).execute(query.limit(1)).first() is not None


def record_check_in(tx: Transaction, ticket_id: str, at: datetime) -> None:
    insert_new(connection(tx), check_ins, {"ticket_id": ticket_id, "checked_in_at": at})


def checked_in_at(tx: Transaction, ticket_id: str) -> datetime | None:
    query = select(check_ins.c.checked_in_at).where(check_ins.c.ticket_id == ticket_id)
    found: datetime | None = connection(tx).execute(query).scalar()
    return found
