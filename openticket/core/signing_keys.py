"""Signing keys kept on a ring: the newest signs, every key on it still verifies (so a rotation
invalidates nothing already signed), until an operator revokes them all. Tokens (auth) and
ticket codes (tickets) each have a ring of their own; where a ring lives is bootstrap's
choice: a file beside a SQLite database (key_file.py), the store's own table (key_table.py),
or, for tokens, OPENTICKET_SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

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


class KeyRows(Protocol):
    """Where a table ring keeps its keys (a repository of the domain that owns them)."""

    def signing_keys(self, tx: Transaction) -> list[SigningKey]:
        """The keys kept, newest first."""

    def add_signing_key(self, tx: Transaction, key: SigningKey) -> None: ...

    def delete_signing_keys(self, tx: Transaction) -> None: ...
