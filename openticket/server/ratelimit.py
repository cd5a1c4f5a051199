"""Sign-in throttling: a sliding window of attempts per account and per client address, so
passwords cannot be guessed at speed. In memory, per server process."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        """Record an attempt; 0 if allowed, else the seconds to wait before the next one."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys rather than grow without bound
                for stale in [
                    k for k, v in self._hits.items() if not v or v[-1] <= now - self.window
                ]:
                    del self._hits[stale]
            return 0


class SigninLimiter:
    def __init__(self, per_account: SlidingWindow, per_address: SlidingWindow) -> None:
        self.per_account = per_account
        self.per_address = per_address

    def check(self, email: str, address: str) -> int:
        """Seconds to wait (0: go ahead). Both windows count every attempt."""
        return max(self.per_address.hit(address), self.per_account.hit(email.strip().lower()))
