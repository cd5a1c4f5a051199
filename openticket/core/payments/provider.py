"""The payment provider port: what payments needs from Stripe or the built-in `local` one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from openticket.core.money import Money

# Where a provider keeps a charge's idempotency key in its own record of the charge (Stripe's
# metadata), so that reconciliation and the provider's notifications find the attempt.
CHARGE_KEY_METADATA = "openticket_key"


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    provider_ref: str | None
    failure_message: str | None = None
    # Set when the buyer must authenticate the charge there first (3-D Secure): it neither
    # succeeded nor failed yet, and its outcome comes later (a webhook, or `pay --check`).
    action_url: str | None = None

    @property
    def needs_action(self) -> bool:
        return self.action_url is not None


@dataclass(frozen=True)
class ChargeRecord:
    """What the provider remembers of a charge, for reconciliation."""

    idempotency_key: str
    provider_ref: str
    amount: Money
    succeeded: bool
    refunded: bool
    waiting: bool = False  # for the buyer to authenticate the card (3-D Secure)


@dataclass(frozen=True)
class TransferRecord:
    """What the provider remembers of a transfer to a seller, for reconciliation."""

    transfer_ref: str
    transfer_group: str  # the order whose payout it pays
    account_ref: str
    amount: Money
    reversed: bool  # taken back in full


@dataclass(frozen=True)
class AccountState:
    """A seller's account at the provider, as it now is."""

    account_ref: str
    charges_enabled: bool
    payouts_enabled: bool
    onboarding_url: str | None = None  # where the seller finishes onboarding, if not done


class OutcomeUnknown(Exception):
    """The provider could not be asked, or did not answer: the charge may or may not have been
    made. The attempt stays pending and is driven again with the same idempotency key. The
    message is shown to the user, so it never carries a secret."""


class TransferRefused(Exception):
    """The provider refused to make a transfer (the seller's account cannot receive it, the
    platform's balance is short): nothing moved. The message names the reason and never
    carries a secret."""


class PaymentProvider(Protocol):
    name: str
    # How long a charge may take in a live process before its attempt counts as abandoned
    # (then another process drives it again with the same key).
    patience_seconds: float

    def charge(
        self, amount: Money, source: str, idempotency_key: str, transfer_group: str | None = None
    ) -> ChargeResult:
        """Charge `amount`. The same key always gives the same result and never a second
        charge. Raises InvalidInput for a source the provider refuses (nothing was charged)
        and OutcomeUnknown when it cannot tell. `transfer_group` (the order) links the
        charge to the transfer that pays its seller."""

    def charge_outcome(self, provider_ref: str) -> ChargeResult:
        """Where a charge that needed the buyer's authentication stands now. Raises
        OutcomeUnknown when the provider cannot be asked."""

    def cancel_charge(self, provider_ref: str, idempotency_key: str) -> ChargeResult:
        """Give up a charge still waiting for the buyer's authentication, so that it can no
        longer go through; the charge's outcome after that (a charge that went through just
        before is reported as succeeded). Raises OutcomeUnknown when it cannot tell."""

    def refund(self, provider_ref: str, idempotency_key: str) -> str:
        """Refund a charge in full (idempotent per key); return the refund's reference.
        Raises OutcomeUnknown when the provider cannot be reached."""

    def charges(self) -> Iterable[ChargeRecord]:
        """Every charge this system made through the provider (reconciliation reads them)."""

    def open_account(self, user_id: str, account_ref: str | None) -> AccountState:
        """The seller's payout account: made on the first call (`account_ref` None), else
        the state of the one made before. Raises OutcomeUnknown when it cannot be reached."""

    def account_state(self, account_ref: str) -> AccountState | None:
        """A seller's account as the provider now has it (no onboarding link made); None when
        it is gone or no longer connected to this platform. Raises OutcomeUnknown when the
        provider cannot be asked."""

    def transfer(
        self,
        account_ref: str,
        amount: Money,
        idempotency_key: str,
        transfer_group: str,
        source_charge: str | None = None,
    ) -> str:
        """Move `amount` to the seller's account (once per key, whatever the number of
        calls); the transfer's reference. `source_charge` (the charge that paid the order)
        ties it to that money, so that it is made when those funds are available rather
        than out of the platform's balance. Raises TransferRefused when the provider says
        no, OutcomeUnknown when it cannot tell."""

    def reverse_transfer(self, transfer_ref: str, idempotency_key: str) -> str:
        """Take a transfer back in full (once per key); the reversal's reference (also when
        it was taken back before). Raises TransferRefused when the provider says no (the
        seller's balance is short), OutcomeUnknown when it cannot tell."""

    def transfers(self, transfer_group: str | None = None) -> Iterable[TransferRecord]:
        """The transfers this system made (of one order, with `transfer_group`). Raises
        OutcomeUnknown when the provider cannot be asked."""
