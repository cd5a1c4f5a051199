"""Auth against bad input and probing, on a real SQLite store: a taken email costs the same
work as a new one (nothing to time), and oversized credentials are refused before hashing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from openticket.app.local import LocalApi
from openticket.core.auth.passwords import Argon2Hasher
from openticket.core.errors import Conflict, InvalidInput


class CountingHasher:
    """The real (cheap) argon2, counting what it is asked to do."""

    def __init__(self) -> None:
        self.inner = Argon2Hasher.cheap()
        self.hashed = 0
        self.verified = 0

    def hash(self, password: str) -> str:
        self.hashed += 1
        return self.inner.hash(password)

    def verify(self, password: str, stored_hash: str) -> bool:
        self.verified += 1
        return self.inner.verify(password, stored_hash)

    def verify_nothing(self, password: str) -> None:
        self.verified += 1
        self.inner.verify_nothing(password)


def test_a_taken_email_is_hashed_like_a_new_one(make_api: Callable[..., LocalApi]) -> None:
    hasher = CountingHasher()
    api = make_api(hasher=hasher)
    api.signup("taken@example.com", "long enough")
    assert hasher.hashed == 1
    with pytest.raises(Conflict):
        api.signup("Taken@Example.com", "another password")
    assert hasher.hashed == 2


def test_oversized_credentials_are_refused_before_hashing(
    make_api: Callable[..., LocalApi],
) -> None:
    hasher = CountingHasher()
    api = make_api(hasher=hasher)
    api.signup("owner@example.com", "long enough")
    with pytest.raises(InvalidInput) as too_long:
        api.signin("owner@example.com", "p" * 5000)  # passlib raised PasswordSizeError
    assert too_long.value.items[0].field == "password"
    with pytest.raises(InvalidInput):
        api.signin("e" * 5000 + "@example.com", "long enough")
    with pytest.raises(InvalidInput):
        api.signup("owner2@example.com", "p" * 5000)
    assert (hasher.hashed, hasher.verified) == (1, 0)
