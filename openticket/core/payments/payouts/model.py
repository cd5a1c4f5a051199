"""Payout rules: the platform's fee, how long the money is held, and a payout's statuses.

A completed order owes its seller the price less the platform's fee. The money is held until
the ticket has proven good (it was checked in) or the hold has passed, then transferred to the
seller's account; a refund before that cancels the payout, after it reverses the transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from openticket.core.ids import new_id
from openticket.core.money import Money

HELD = "held"  # owed, not moved yet (waiting for its release time or the seller's account)
RELEASING = "releasing"  # its transfer is being made (a process that died is followed up)
RELEASED = "released"  # transferred to the seller
REVERSING = "reversing"  # refunded once a transfer may exist: it is being taken back
REVERSED = "reversed"  # nothing is owed: refunded before release, or its transfer taken back

# After the provider refused a transfer (say the seller's account cannot receive it yet), the
# payout is held again for this long rather than asked about on every pass; so is a reversal
# it refused (the seller's balance is short).
REFUSED_RETRY = timedelta(hours=1)

# What the contract shows: a payout is held until its money has moved, and released until the
# provider has taken a transfer back (a reversal it cannot make yet, say for want of balance
# on the seller's account, is tried again, and the payout says where the money still is).
SHOWN_STATUS = {
    HELD: HELD,
    RELEASING: HELD,
    RELEASED: RELEASED,
    REVERSING: RELEASED,
    REVERSED: REVERSED,
}


@dataclass(frozen=True)
class PayoutTerms:
    fee_percent: Decimal  # of the price, 0 to 100
    hold: timedelta  # after the sale, unless the ticket is checked in sooner


def fee_of(gross: Money, percent: Decimal) -> Money:
    """The platform's fee on `gross`: `percent` of it, rounded half up to a minor unit, never
    more than `gross` (so a net is never below zero)."""
    exact = Decimal(gross.minor) * percent / 100
    fee = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Money(max(0, min(fee, gross.minor)), gross.currency)


@dataclass(frozen=True)
class Payout:
    id: str
    order_id: str  # one payout per order
    ticket_id: str
    seller_id: str
    gross: Money
    fee: Money
    status: str
    release_at: datetime
    created_at: datetime
    transfer_ref: str | None = None  # the provider's transfer, once released
    disputed: bool = False  # the buyer disputed the charge: not released meanwhile
    # Transfers (or their reversals) the provider refused: each try has a key of its own.
    refused_transfers: int = 0

    @property
    def transfer_key(self) -> str:
        """The idempotency key of its transfer: one per try, a try being refused or done."""
        return f"payout-{self.id}{self._try}"

    @property
    def reversal_key(self) -> str:
        return f"reversal-{self.id}{self._try}"

    @property
    def _try(self) -> str:
        return f"-{self.refused_transfers}" if self.refused_transfers else ""

    @property
    def net(self) -> Money:
        return Money(self.gross.minor - self.fee.minor, self.gross.currency)

    def is_due(self, now: datetime) -> bool:
        """Whether its money should move now (or is moving: a transfer a dead process began
        is made again under the same idempotency key, which cannot pay twice)."""
        if self.status == RELEASING:
            return True
        return self.status == HELD and self.release_at <= now and not self.disputed

    def proven_at(self, at: datetime) -> Payout:
        """The ticket was checked in at `at`: release then, if that is sooner."""
        if self.status != HELD or at >= self.release_at:
            return self
        return replace(self, release_at=at)

    def releasing(self) -> Payout:
        return replace(self, status=RELEASING)

    def released(self, transfer_ref: str) -> Payout | None:
        """Its transfer was made. Refunded meanwhile, it stays to be taken back, and knows
        which transfer that is. None if that changes nothing."""
        if self.status == RELEASING:
            return replace(self, status=RELEASED, transfer_ref=transfer_ref)
        if self.status == REVERSING and self.transfer_ref is None and transfer_ref:
            return replace(self, transfer_ref=transfer_ref)
        return None

    def refunded(self) -> Payout | None:
        """The order was refunded: a held payout is cancelled; one whose transfer exists or
        may exist is taken back (REVERSING until the provider has done it). None if nothing
        changes."""
        if self.status == HELD:
            return replace(self, status=REVERSED)
        if self.status in (RELEASING, RELEASED):
            return replace(self, status=REVERSING)
        return None

    def reversed(self) -> Payout | None:
        return replace(self, status=REVERSED) if self.status == REVERSING else None


def new_payout(
    order_id: str, ticket_id: str, seller_id: str, gross: Money, terms: PayoutTerms, now: datetime
) -> Payout:
    return Payout(
        id=new_id(),
        order_id=order_id,
        ticket_id=ticket_id,
        seller_id=seller_id,
        gross=gross,
        fee=fee_of(gross, terms.fee_percent),
        status=HELD,
        release_at=now + terms.hold,
        created_at=now,
    )


@dataclass(frozen=True)
class SellerAccount:
    """Where a seller's payouts go, at the payment provider."""

    user_id: str
    provider: str
    account_ref: str
    charges_enabled: bool
    payouts_enabled: bool
    onboarding_url: str | None = None  # where the seller finishes onboarding, while not done
    on_hold: bool = False  # a dispute against one of their sales holds all their payouts
