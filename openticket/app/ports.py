"""What the application layer needs from adapters, beyond the domains' own ports
(core/ports.py): an event bus to hand committed events on, the event log to read, and the
table of idempotency keys. `bus/` and `store/` implement them; `bootstrap.py` wires them."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from openticket.core.events import Envelope
from openticket.core.notify.webhooks.service import Attempt
from openticket.core.payments.payouts.model import PayoutTerms
from openticket.core.ports import BatchHandler, Handler, Transaction


class EventBus(Protocol):
    # True when handing events on applies them in this process (one write transaction);
    # False when it publishes them to a broker, which must not happen under the write lock.
    delivers_in_process: bool

    def subscribe(
        self, consumer: str, subject: str, handler: Handler, batch: BatchHandler | None = None
    ) -> None:
        """Have `handler` apply every event of `subject` once, as `consumer`; `batch`, where
        given, applies a run of them at once, with the same effect."""

    def publish_pending(
        self,
        *,
        known_pending: bool = False,
        settled: Callable[[], None] | None = None,
        events: list[Envelope] | None = None,
    ) -> set[str]:
        """Hand on committed events not yet handed on (`events`, or all); their subjects.
        Safe to call from any number of processes at once, and again after a crash.
        `known_pending` skips the cheap check for undelivered events. A bus whose consumers
        are elsewhere waits until they applied the events before it returns (read your
        writes); given `settled`, it returns at once and calls `settled` then, from another
        thread, or before returning when there is nothing to wait for (a bus that delivers
        in process always calls it before returning). `events`: the caller's command's, just
        committed: a broker's bus hands on those (not what other commands left, a worker's
        to hand on) and waits for them, whichever process's copy reaches the consumers;
        without them, it hands on and waits for every event not yet handed on."""

    def consume(
        self, stop: threading.Event, after_each: dict[str, Callable[[set[str]], None]] | None = None
    ) -> None:
        """A worker's loop, until `stop` is set: apply events to this process's consumers.
        `after_each` maps a consumer to what to run after it applied events, given their
        subjects."""

    def close(self) -> None: ...


class EventLog(Protocol):
    """The outbox read as the marketplace's event log."""

    max_seq: int  # the highest position the log can reach

    def has_pending(self, tx: Transaction) -> bool:
        """Whether some committed event is not delivered yet."""
        ...

    def read(self, tx: Transaction, after: int, limit: int) -> list[Envelope]: ...

    def last_seq(self, tx: Transaction) -> int: ...


class ClaimState(enum.Enum):
    CLAIMED = "claimed"  # this request runs, and answers for the key
    ANSWERED = "answered"  # an earlier request answered: replay its answer
    BUSY = "busy"  # another request is running right now


class Claim(NamedTuple):
    state: ClaimState
    response: dict[str, Any] | None = None
    held_until: datetime | None = None  # CLAIMED: this claim's own mark


class IdempotencyRecords(Protocol):
    """Idempotency keys with the first answer to each (app/once.py)."""

    def replay(
        self, tx: Transaction, user_id: str, key: str, fingerprint: str
    ) -> dict[str, Any] | None: ...

    def claim(
        self,
        tx: Transaction,
        user_id: str,
        key: str,
        fingerprint: str,
        until: datetime,
    ) -> Claim: ...

    def remember(
        self, tx: Transaction, user_id: str, key: str, fingerprint: str, response: dict[str, Any]
    ) -> None: ...

    def release(self, tx: Transaction, user_id: str, key: str, held_until: datetime) -> None: ...


class Terms(Protocol):
    """Settings some commands use, read (and checked) when such a command runs: a mistake in
    one is that command's error, not every command's."""

    @property
    def order_ttl(self) -> int:
        """Seconds an order holds its ticket."""
        ...

    @property
    def offer_ttl(self) -> int:
        """Seconds a waitlist's offer holds its ticket for the one it is offered to."""
        ...

    @property
    def webhook_allow_private(self) -> bool:
        """Whether webhooks may point at loopback, private and link-local addresses."""
        ...

    @property
    def currency(self) -> str:
        """The currency of a listing that names none."""
        ...

    @property
    def resale_cap_percent(self) -> int:
        """The highest resale price, as a percentage of what its holder paid."""
        ...

    @property
    def payout_terms(self) -> PayoutTerms:
        """The platform's fee on a sale, and how long its payout is held."""
        ...


DEFAULT_PAYOUT_TERMS = PayoutTerms(Decimal(5), timedelta(days=7))


@dataclass(frozen=True)
class FixedTerms:
    order_ttl: int = 900
    offer_ttl: int = 300
    webhook_allow_private: bool = False
    currency: str = "USD"
    resale_cap_percent: int = 110
    payout_terms: PayoutTerms = DEFAULT_PAYOUT_TERMS


class WebhookTransport(Protocol):
    def post(
        self, url: str, body: bytes, headers: dict[str, str], sni_hostname: str | None
    ) -> Attempt:
        """POST `body` to `url` (its host an address already checked; `sni_hostname` the
        name a TLS certificate must be for): how it went, never an exception."""
        ...
