"""The built-in `local` payment provider: no network, Stripe's test tokens, a ledger table.

It behaves as Stripe does with test cards: `tok_visa` (and the other success tokens) charge,
`tok_chargeDeclined…` tokens are declined with Stripe's messages, anything else is unknown.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from openticket.core.clock import Clock
from openticket.core.errors import InvalidInput
from openticket.core.money import Money
from openticket.core.payments.payouts.tables import local_transfers
from openticket.core.payments.provider import (
    AccountState,
    ChargeRecord,
    ChargeResult,
    TransferRecord,
)
from openticket.core.payments.tables import local_charges
from openticket.store.db import WRITE_OPTION
from openticket.store.locks import key_of, lock_key

_SUCCEEDS = {
    f"{prefix}_{brand}"
    for prefix in ("tok", "pm_card")
    for brand in (
        "visa",
        "visa_debit",
        "mastercard",
        "mastercard_debit",
        "amex",
        "discover",
        "diners",
        "jcb",
        "unionpay",
    )
}
_GENERIC_DECLINE = "Your card was declined."
_DECLINES = {
    "chargeDeclined": _GENERIC_DECLINE,
    "chargeDeclinedFraudulent": _GENERIC_DECLINE,
    "chargeDeclinedLostCard": _GENERIC_DECLINE,
    "chargeDeclinedStolenCard": _GENERIC_DECLINE,
    "chargeDeclinedInsufficientFunds": "Your card has insufficient funds.",
    "chargeDeclinedExpiredCard": "Your card has expired.",
    "chargeDeclinedIncorrectCvc": "Your card's security code is incorrect.",
    "chargeDeclinedProcessingError": (
        "An error occurred while processing your card. Try again in a little bit."
    ),
}
_DECLINE_TOKENS = {f"tok_{name}": message for name, message in _DECLINES.items()} | {
    f"pm_card_visa_{name}": message for name, message in _DECLINES.items()
}


def outcome_for(source: str) -> str | None:
    """None when the test token succeeds, else the decline message; unknown tokens raise."""
    if source in _SUCCEEDS:
        return None
    if source in _DECLINE_TOKENS:
        return _DECLINE_TOKENS[source]
    raise InvalidInput(
        f"No such payment token: {source[:60]!r} (try tok_visa, or tok_chargeDeclined)", "card"
    )


class LocalProvider:
    name = "local"
    patience_seconds = 10.0  # a write to its ledger table, even behind a busy write lock

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction on the ledger, queued behind the store's other writers (on
        PostgreSQL, where writers run in parallel, one idempotency key or charge at a time:
        the callers lock it)."""
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def charge(
        self, amount: Money, source: str, idempotency_key: str, transfer_group: str | None = None
    ) -> ChargeResult:
        decline = outcome_for(source)
        with self._writing() as conn:
            lock_key(conn, key_of("local-charge", idempotency_key))
            existing = conn.execute(
                select(local_charges).where(local_charges.c.idempotency_key == idempotency_key)
            ).first()
            if existing is None:
                charge_id = "ch_local_" + uuid.uuid4().hex[:24]
                try:
                    conn.execute(
                        insert(local_charges).values(
                            id=charge_id,
                            idempotency_key=idempotency_key,
                            amount_minor=amount.minor,
                            currency=amount.currency,
                            source=source,
                            status="failed" if decline else "succeeded",
                            failure_message=decline,
                            created_at=self._clock(),
                        )
                    )
                except IntegrityError:  # pragma: no cover - guarded by the key's lock
                    raise RuntimeError("concurrent charge with the same key") from None
                return ChargeResult(decline is None, charge_id, decline)
        return ChargeResult(existing.status == "succeeded", existing.id, existing.failure_message)

    def charge_outcome(self, provider_ref: str) -> ChargeResult:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(local_charges).where(local_charges.c.id == provider_ref)
            ).first()
        if row is None:
            raise RuntimeError(f"no charge {provider_ref}")
        return ChargeResult(row.status == "succeeded", row.id, row.failure_message)

    def cancel_charge(self, provider_ref: str, idempotency_key: str) -> ChargeResult:
        """A local charge never waits for authentication: there is nothing to give up."""
        return self.charge_outcome(provider_ref)

    def refund(self, provider_ref: str, idempotency_key: str) -> str:
        with self._writing() as conn:
            row = conn.execute(
                select(local_charges).where(local_charges.c.id == provider_ref).with_for_update()
            ).first()
            if row is None or row.status != "succeeded":
                raise RuntimeError(f"no successful charge {provider_ref} to refund")
            if row.refund_id is not None:
                return str(row.refund_id)
            refund_id = "re_local_" + uuid.uuid4().hex[:24]
            conn.execute(
                update(local_charges)
                .where(local_charges.c.id == provider_ref)
                .values(refund_id=refund_id)
            )
            return refund_id

    def charges(self) -> Iterator[ChargeRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(local_charges).order_by(local_charges.c.created_at)).all()
        for row in rows:
            yield ChargeRecord(
                idempotency_key=row.idempotency_key,
                provider_ref=row.id,
                amount=Money(row.amount_minor, row.currency),
                succeeded=row.status == "succeeded",
                refunded=row.refund_id is not None,
            )

    def open_account(self, user_id: str, account_ref: str | None) -> AccountState:
        """No one to ask: a seller's local account is ready at once."""
        return AccountState(account_ref or f"acct_local_{user_id[:16]}", True, True)

    def account_state(self, account_ref: str) -> AccountState | None:
        return AccountState(account_ref, True, True)

    def transfer(
        self,
        account_ref: str,
        amount: Money,
        idempotency_key: str,
        transfer_group: str,
        source_charge: str | None = None,
    ) -> str:
        """A local charge's money is at hand at once: `source_charge` changes nothing."""
        with self._writing() as conn:
            lock_key(conn, key_of("local-transfer", idempotency_key))
            existing = conn.execute(
                select(local_transfers.c.id).where(
                    local_transfers.c.idempotency_key == idempotency_key
                )
            ).scalar()
            if existing is not None:
                return str(existing)
            transfer_id = "tr_local_" + uuid.uuid4().hex[:24]
            conn.execute(
                insert(local_transfers).values(
                    id=transfer_id,
                    idempotency_key=idempotency_key,
                    account_ref=account_ref,
                    amount_minor=amount.minor,
                    currency=amount.currency,
                    transfer_group=transfer_group,
                    created_at=self._clock(),
                )
            )
            return transfer_id

    def reverse_transfer(self, transfer_ref: str, idempotency_key: str) -> str:
        with self._writing() as conn:
            row = conn.execute(
                select(local_transfers)
                .where(local_transfers.c.id == transfer_ref)
                .with_for_update()
            ).first()
            if row is None:
                raise RuntimeError(f"no transfer {transfer_ref} to reverse")
            if row.reversal_id is not None:
                return str(row.reversal_id)
            reversal_id = "trr_local_" + uuid.uuid4().hex[:24]
            conn.execute(
                update(local_transfers)
                .where(local_transfers.c.id == transfer_ref)
                .values(reversal_id=reversal_id)
            )
            return reversal_id

    def transfers(self, transfer_group: str | None = None) -> Iterator[TransferRecord]:
        query = select(local_transfers).order_by(local_transfers.c.created_at)
        if transfer_group is not None:
            query = query.where(local_transfers.c.transfer_group == transfer_group)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        for row in rows:
            yield TransferRecord(
                transfer_ref=row.id,
                transfer_group=row.transfer_group,
                account_ref=row.account_ref,
                amount=Money(row.amount_minor, row.currency),
                reversed=row.reversal_id is not None,
            )
