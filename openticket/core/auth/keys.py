"""The keys tokens are signed with: a ring whose newest key signs, and whose every key still
verifies (so a rotation does not sign anyone out), until an operator revokes them all.

Where the ring lives is the operator's choice (bootstrap picks one): `OPENTICKET_SECRET_KEY`,
a key file beside a SQLite database (mode 0600, so the marketplace's tables never hold it),
or, for PostgreSQL without the variable, the store's own table.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from openticket.core.errors import InvalidInput

if TYPE_CHECKING:
    from openticket.core.ports import Transaction


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: str = field(repr=False)
    created_at: datetime | None = None


def new_secret() -> str:
    return secrets.token_urlsafe(48)


def fresh_key(now: datetime) -> SigningKey:
    secret = new_secret()
    return SigningKey(key_id(secret), secret, now)


def key_id(secret: str) -> str:
    """A stable, public id for a secret (the token header's `kid`); it reveals nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class KeyRing(Protocol):
    def signing_key(self, tx: Transaction) -> SigningKey:
        """The key new tokens are signed with (made on first use)."""

    def verifying_keys(self, tx: Transaction) -> Sequence[SigningKey]:
        """Every key a valid token may be signed with, newest first."""

    def rotate(self, tx: Transaction, *, revoke_all: bool) -> SigningKey:
        """Make a new signing key; with `revoke_all`, forget every older one (each token
        signed before becomes invalid). Returns the new key."""


class EnvKeyRing:
    """Keys from OPENTICKET_SECRET_KEY: comma-separated, the first signs. Rotating is the
    operator's: put the new key first and keep the old ones until their tokens expire."""

    def __init__(self, secrets_: Sequence[str]) -> None:
        self._keys = [SigningKey(key_id(secret), secret) for secret in secrets_]

    def signing_key(self, tx: Transaction) -> SigningKey:
        return self._keys[0]

    def verifying_keys(self, tx: Transaction) -> Sequence[SigningKey]:
        return self._keys

    def rotate(self, tx: Transaction, *, revoke_all: bool) -> SigningKey:
        raise InvalidInput(
            "The signing keys come from OPENTICKET_SECRET_KEY: put a new key first in it "
            "(keep the old ones after it until their tokens expire, or drop them to revoke "
            "every token), then restart",
            "OPENTICKET_SECRET_KEY",
        )
