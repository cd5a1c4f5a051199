"""The keys tokens are signed with, from OPENTICKET_SECRET_KEY (the other rings, a key file or
the store's table, are core/key_file.py and core/key_table.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from openticket.core.errors import InvalidInput
from openticket.core.signing_keys import SigningKey, key_id

if TYPE_CHECKING:
    from openticket.core.ports import Transaction


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
