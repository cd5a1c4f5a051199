"""Throttling of the requests that cost the server most (argon2 hashing) or that guess:
sliding windows in memory, per server process, whose memory is bounded whatever strangers send;
on PostgreSQL the same windows are kept in the store and shared by every server
(store/throttle.py, chosen by bootstrap.shared_windows).

Sign-in counts every attempt per client address, and failed attempts per (account, address):
a stranger who guesses an account's password is slowed down without locking its owner out,
since the owner's own address has not failed. Sign-up counts attempts per address.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from openticket.core.auth.model import normalize_email

MAX_KEYS = 10_000  # per window: about 2 MB whatever the traffic


def _key(*parts: str) -> str:
    """A fixed-size key, so a huge email costs no more memory than a short one."""
    return hashlib.blake2b("\0".join(parts).encode(errors="replace"), digest_size=16).hexdigest()


class Window(Protocol):
    """A throttling window: in memory (SlidingWindow) or shared in the store."""

    def wait(self, *parts: str) -> int:
        """Seconds until another attempt is allowed (0: now), recording nothing."""
        ...

    def hit(self, *parts: str) -> int:
        """Record an attempt if allowed; 0 if it was, else the seconds to wait."""
        ...


WindowFactory = Callable[[str, int, float], Window]
"""(name, limit, seconds) -> a window; the name tells a shared store's windows apart."""


def memory_window(_name: str, limit: int, seconds: float) -> Window:
    return SlidingWindow(limit, seconds)


class SlidingWindow:
    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()  # least recently hit first
        self._lock = threading.Lock()

    def wait(self, *parts: str) -> int:
        """Seconds until another attempt is allowed (0: now), recording nothing."""
        now = self._clock()
        with self._lock:
            hits = self._current(_key(*parts), now)
            if hits is None or len(hits) < self.limit:
                return 0
            return max(1, math.ceil(hits[0] + self.window - now))

    def hit(self, *parts: str) -> int:
        """Record an attempt, if allowed; 0 if it was, else the seconds to wait (a refused
        attempt is not recorded, so waiting it out always works)."""
        now = self._clock()
        key = _key(*parts)
        with self._lock:
            hits = self._current(key, now)
            if hits is not None and len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            if hits is None:
                hits = self._hits[key] = deque()
            hits.append(now)
            self._hits.move_to_end(key)
            self._bound(now)
            return 0

    def __len__(self) -> int:
        return len(self._hits)

    def _current(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def _bound(self, now: float) -> None:
        """Forget idle keys, oldest first; past the cap, forget the least recently hit."""
        while self._hits:
            oldest_key, oldest = next(iter(self._hits.items()))
            if len(self._hits) <= self._max_keys and oldest[-1] > now - self.window:
                return
            del self._hits[oldest_key]


class SigninLimiter:
    def __init__(self, per_address: Window, failures_per_account: Window) -> None:
        self.per_address = per_address
        self.failures_per_account = failures_per_account

    def check(self, email: str, address: str) -> int:
        """Seconds to wait before this attempt (0: go ahead); counts it for its address."""
        account = normalize_email(email)
        return self.failures_per_account.wait(account, address) or self.per_address.hit(address)

    def failed(self, email: str, address: str) -> None:
        # The account as sign-in finds it: other spellings of one address count as one.
        self.failures_per_account.hit(normalize_email(email), address)
