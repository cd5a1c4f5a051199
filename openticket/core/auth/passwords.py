"""Password hashing: argon2 through libpass's CryptContext (bcrypt hashes still verify)."""

from __future__ import annotations

import functools
import os
import threading
from typing import Any, Protocol

from openticket.core.errors import TooManyRequests

ARGON2_MEMORY_BYTES = 64 << 20  # argon2id's default memory cost, per hashing


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, stored_hash: str) -> bool: ...

    def verify_nothing(self, password: str) -> None: ...


class Argon2Hasher:
    """argon2id with library defaults; `cheap()` gives parameters fit for tests only.

    The hashing library and the timing equalizer's hash are set up on first use: most
    commands only check a token and should not pay for them."""

    def __init__(self, **argon2_settings: Any) -> None:
        self._settings = {f"argon2__{key}": value for key, value in argon2_settings.items()}

    @functools.cached_property
    def _context(self) -> Any:
        from passlib.context import CryptContext

        return CryptContext(schemes=["argon2", "bcrypt"], deprecated="auto", **self._settings)

    @functools.cached_property
    def _dummy_hash(self) -> str:
        return str(self._context.hash("openticket-timing-equalizer"))

    @classmethod
    def cheap(cls) -> Argon2Hasher:
        return cls(time_cost=1, memory_cost=1024, parallelism=1)

    def hash(self, password: str) -> str:
        return str(self._context.hash(password))

    def verify(self, password: str, stored_hash: str) -> bool:
        return bool(self._context.verify(password, stored_hash))

    def verify_nothing(self, password: str) -> None:
        """Spend the time of a verification, so an unknown email answers as slowly as a wrong
        password and cannot be told apart by timing."""
        self._context.verify(password, self._dummy_hash)


def hashing_slots() -> int:
    """How many hashings may run at once: one per core, and no more than a sixteenth of the
    machine's memory holds (64 MiB each)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = 1 << 30
    by_memory = memory // (16 * ARGON2_MEMORY_BYTES)
    return max(1, min(os.cpu_count() or 1, by_memory))


class BoundedHasher:
    """A hasher that runs at most `slots` hashings at once: sixty parallel sign-ups would
    otherwise take 64 MiB each (and every core) at the same moment. Callers past the slots
    wait their turn, up to `wait_seconds`, then are told to come back (429)."""

    def __init__(
        self, inner: PasswordHasher, slots: int | None = None, wait_seconds: float = 30.0
    ) -> None:
        self._inner = inner
        self._slots = threading.BoundedSemaphore(slots or hashing_slots())
        self._wait = wait_seconds

    def _turn(self) -> None:
        if not self._slots.acquire(timeout=self._wait):
            raise TooManyRequests("The server is busy: try again in a few seconds", retry_after=2)

    def hash(self, password: str) -> str:
        self._turn()
        try:
            return self._inner.hash(password)
        finally:
            self._slots.release()

    def verify(self, password: str, stored_hash: str) -> bool:
        self._turn()
        try:
            return self._inner.verify(password, stored_hash)
        finally:
            self._slots.release()

    def verify_nothing(self, password: str) -> None:
        self._turn()
        try:
            self._inner.verify_nothing(password)
        finally:
            self._slots.release()
