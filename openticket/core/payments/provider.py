"""The payment provider port: what payments needs from Stripe or the built-in `local` one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from openticket.core.money import Money


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    provider_ref: str | None
    failure_message: str | None = None


@dataclass(frozen=True)
class ChargeRecord:
    """What the provider remembers of a charge, for reconciliation."""

    idempotency_key: str
    provider_ref: str
    amount: Money
    succeeded: bool
    refunded: bool


class OutcomeUnknown(Exception):
    """The provider could not be asked, or did not answer: the charge may or may not have been
    made. The attempt stays pending and is driven again with the same idempotency key. The
    message is shown to the user, so it never carries a secret."""


class PaymentProvider(Protocol):
    name: str
    # How long a charge may take in a live process before its attempt counts as abandoned
    # (then another process drives it again with the same key).
    patience_seconds: float

    def charge(self, amount: Money, source: str, idempotency_key: str) -> ChargeResult:
        """Charge `amount`. The same key always gives the same result and never a second
        charge. Raises InvalidInput for a source the provider refuses (nothing was charged)
        and OutcomeUnknown when it cannot tell."""

    def refund(self, provider_ref: str, idempotency_key: str) -> str:
        """Refund a charge in full (idempotent per key); return the refund's reference.
        Raises OutcomeUnknown when the provider cannot be reached."""

    def charges(self) -> Iterable[ChargeRecord]:
        """Every charge this system made through the provider (reconciliation reads them)."""
