"""Signing keys in the store's own table (its domain's repository reads and writes it): for
PostgreSQL, where every process of a scaled-out marketplace must find the same keys and the
database is guarded by its own access control rather than by file modes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from openticket.core.ports import Transaction
from openticket.core.signing_keys import KeyRows, SigningKey, fresh_key

# Other processes see a rotation within this long (each request would otherwise read keys).
CACHE_SECONDS = 1.0


class TableKeyRing:
    def __init__(self, rows: KeyRows, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._rows = rows
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._read_at: float | None = None

    def signing_key(self, tx: Transaction) -> SigningKey:
        keys = self.verifying_keys(tx)
        if keys:
            return keys[0]
        key = fresh_key(tx.now)
        self._rows.add_signing_key(tx, key)
        self._forget()
        return key

    def verifying_keys(self, tx: Transaction) -> Sequence[SigningKey]:
        with self._lock:
            now = self._monotonic()
            if self._read_at is not None and now - self._read_at < CACHE_SECONDS:
                return list(self._keys)
        keys = self._rows.signing_keys(tx)
        with self._lock:
            self._keys, self._read_at = keys, self._monotonic()
        return keys

    def rotate(self, tx: Transaction, *, revoke_all: bool) -> SigningKey:
        key = fresh_key(tx.now)
        if revoke_all:
            self._rows.delete_signing_keys(tx)
        self._rows.add_signing_key(tx, key)
        self._forget()
        return key

    def _forget(self) -> None:
        with self._lock:
            self._read_at = None
