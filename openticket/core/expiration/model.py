"""Expiration rules: a durable schedule of open orders, and the port that makes it fire."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ExpiryTimer(Protocol):
    """Makes the expirations due at `at` fire then, in a long-running process. The schedule
    itself is the expiration domain's table: a timer only says when to look at it, so an
    order that ends early needs no cancelling (its row is gone when the timer fires)."""

    def schedule(self, order_id: str, at: datetime) -> None: ...

    def start(self) -> None:
        """Run due jobs from now on (long-running processes only)."""

    def shutdown(self) -> None: ...
