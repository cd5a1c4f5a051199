"""The signing keys in the store's own table: for PostgreSQL without OPENTICKET_SECRET_KEY,
where every process of a scaled-out marketplace must find the same keys and the database is
guarded by its own access control rather than by file modes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from openticket.core.auth import repository
from openticket.core.auth.keys import SigningKey, fresh_key
from openticket.core.ports import Transaction

# Other processes see a rotation within this long (each request would otherwise read keys).
CACHE_SECONDS = 1.0


class TableKeyRing:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._read_at: float | None = None

    def signing_key(self, tx: Transaction) -> SigningKey:
        keys = self.verifying_keys(tx)
        if keys:
            return keys[0]
        key = fresh_key(tx.now)
        repository.add_signing_key(tx, key)
        self._forget()
        return key

    def verifying_keys(self, tx: Transaction) -> Sequence[SigningKey]:
        with self._lock:
            now = self._monotonic()
            if self._read_at is not None and now - self._read_at < CACHE_SECONDS:
                return list(self._keys)
        keys = repository.signing_keys(tx)
        with self._lock:
            self._keys, self._read_at = keys, self._monotonic()
        return keys

    def rotate(self, tx: Transaction, *, revoke_all: bool) -> SigningKey:
        key = fresh_key(tx.now)
        if revoke_all:
            repository.delete_signing_keys(tx)
        repository.add_signing_key(tx, key)
        self._forget()
        return key

    def _forget(self) -> None:
        with self._lock:
            self._read_at = None
