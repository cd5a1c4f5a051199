"""Password hashing: argon2 through libpass's CryptContext (bcrypt hashes still verify)."""

from __future__ import annotations

import functools
from typing import Any, Protocol


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
