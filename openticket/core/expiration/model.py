"""Expiration rules: a timer per open order, and the port that makes timers fire."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ExpiryTimer(Protocol):
    """Makes `fire_expiration(order_id)` run at `at` in a long-running process."""

    def schedule(self, order_id: str, at: datetime) -> None: ...

    def cancel(self, order_id: str) -> None: ...

    def start(self) -> None:
        """Run due jobs from now on (long-running processes only)."""

    def shutdown(self) -> None: ...
