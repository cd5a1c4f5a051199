"""The payment provider port: what payments needs from Stripe or the built-in `local` one."""

from __future__ import annotations

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

    provider_ref: str
    amount: Money
    succeeded: bool
    refunded: bool


class PaymentProvider(Protocol):
    name: str

    def charge(self, amount: Money, source: str, idempotency_key: str) -> ChargeResult:
        """Charge `amount`. The same key always gives the same result and never a second
        charge. Raises InvalidInput for a source the provider does not know."""

    def refund(self, provider_ref: str, idempotency_key: str) -> str:
        """Refund a charge in full (idempotent per key); return the refund's reference."""

    def find_charge(self, idempotency_key: str) -> ChargeRecord | None:
        """The charge made with this key, if any."""
