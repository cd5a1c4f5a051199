"""Signing keys in a file beside a SQLite database (`<database>.keys` for tokens, mode 0600): a
copy of the database file, or a local account that can read it, no longer gives the power to
sign. Every process on that database reads the same file, and sees a rotation at once."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openticket.core.ports import Transaction
from openticket.core.signing_keys import SigningKey, fresh_key

FILE_MODE = 0o600


class FileKeyRing:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None  # inode, size, mtime of what we read
        self._keys: list[SigningKey] = []

    def signing_key(self, tx: Transaction) -> SigningKey:
        keys = self.verifying_keys(tx)
        if keys:
            return keys[0]
        with self._lock:
            self._create([fresh_key(tx.now)])
        return self.verifying_keys(tx)[0]

    def verifying_keys(self, tx: Transaction) -> Sequence[SigningKey]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if seen != self._seen:
                self._keys = _parse(self.path.read_text(encoding="utf-8"))
                self._seen = seen
            return list(self._keys)

    def rotate(self, tx: Transaction, *, revoke_all: bool) -> SigningKey:
        fresh = fresh_key(tx.now)
        older = [] if revoke_all else list(self.verifying_keys(tx))
        with self._lock:
            _replace(self.path, [fresh, *older])
        return fresh

    def adopt(self, legacy: Sequence[SigningKey]) -> None:
        """Keys an earlier version kept in the database: kept verifying (their tokens stay
        valid), from this file only."""
        if legacy:
            with self._lock:
                self._create(list(legacy))

    def _create(self, keys: list[SigningKey]) -> None:
        """Write the file unless another process did first (then theirs counts)."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            return
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_dump(keys))
            handle.flush()
            os.fsync(handle.fileno())


def _dump(keys: list[SigningKey]) -> str:
    return json.dumps(
        {
            "keys": [
                {
                    "kid": key.kid,
                    "secret": key.secret,
                    "created_at": key.created_at.isoformat() if key.created_at else None,
                }
                for key in keys
            ]
        },
        indent=2,
    )


def _parse(text: str) -> list[SigningKey]:
    data: Any = json.loads(text)
    return [
        SigningKey(
            str(entry["kid"]),
            str(entry["secret"]),
            datetime.fromisoformat(entry["created_at"]).astimezone(UTC)
            if entry.get("created_at")
            else None,
        )
        for entry in data["keys"]
    ]


def _replace(path: Path, keys: list[SigningKey]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(_dump(keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
