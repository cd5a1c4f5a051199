"""Throttling windows kept in the database, so that every server of a scaled-out marketplace
counts the same attempts (in memory, N servers would give a stranger N times the tries).

The same sliding window as the server's in-memory one (server/ratelimit.py): an attempt is
allowed while fewer than `limit` were allowed in the last `window` seconds. Each allowed
attempt is a row that expires `window` seconds later; a key's attempts are counted under an
advisory lock on that key, so two servers cannot both let the last one through.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import time
from collections.abc import Callable

from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import DBAPIError

from openticket.store.columns import serial
from openticket.store.db import metadata
from openticket.store.locks import key_of, lock_key

throttle_hits = Table(
    "throttle_hits",
    metadata,
    serial("id"),
    Column("key", String(32), nullable=False),
    Column("expires_at", Float, nullable=False),  # seconds since the epoch
    Index("ix_throttle_hits_key_expires_at", "key", "expires_at"),
)

# Every this many attempts a process also forgets every expired attempt, of every key.
SWEEP_EVERY = 256

_LIVE = select(func.count(), func.min(throttle_hits.c.expires_at)).where(
    throttle_hits.c.key == bindparam("key"), throttle_hits.c.expires_at > bindparam("now")
)
_EXPIRED_OF_KEY = delete(throttle_hits).where(
    throttle_hits.c.key == bindparam("key"), throttle_hits.c.expires_at <= bindparam("now")
)
_EXPIRED = delete(throttle_hits).where(throttle_hits.c.expires_at <= bindparam("now"))
_HIT = insert(throttle_hits)


class StoreWindow:
    """One named window (e.g. sign-ups per address) in the store; the interface of the
    in-memory SlidingWindow."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._name = name
        self.limit = limit
        self.window = window_seconds
        self._clock = clock  # wall time: the servers' clocks must agree, not their uptimes
        self._hits = itertools.count(1)

    def _key(self, parts: tuple[str, ...]) -> str:
        """A fixed-size key, so a huge email costs no more than a short one."""
        text = "\0".join((self._name, *parts)).encode(errors="replace")
        return hashlib.blake2b(text, digest_size=16).hexdigest()

    def wait(self, *parts: str) -> int:
        """Seconds until another attempt is allowed (0: now), recording nothing."""
        now = self._clock()
        with self._engine.connect() as conn:
            count, first = conn.execute(_LIVE, {"key": self._key(parts), "now": now}).one()
        return self._wait(count, first, now)

    def hit(self, *parts: str) -> int:
        """Record an attempt, if allowed; 0 if it was, else the seconds to wait (a refused
        attempt is not recorded, so waiting it out always works)."""
        now = self._clock()
        key = self._key(parts)
        with self._engine.begin() as conn:
            lock_key(conn, key_of("throttle", key))
            conn.execute(_EXPIRED_OF_KEY, {"key": key, "now": now})
            count, first = conn.execute(_LIVE, {"key": key, "now": now}).one()
            wait = self._wait(count, first, now)
            if not wait:
                conn.execute(_HIT, {"key": key, "expires_at": now + self.window})
        if next(self._hits) % SWEEP_EVERY == 0:
            # Apart, and best effort: two servers sweeping at once may deadlock on each
            # other's rows, and the next sweep takes what this one left.
            with contextlib.suppress(DBAPIError), self._engine.begin() as conn:
                conn.execute(_EXPIRED, {"now": now})
        return wait

    def _wait(self, count: int, first: float | None, now: float) -> int:
        if count < self.limit or first is None:
            return 0
        return max(1, math.ceil(first - now))
