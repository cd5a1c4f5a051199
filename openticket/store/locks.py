"""What PostgreSQL serializes for openticket besides the rows a transaction locks itself.

Writers do not queue for one lock: a use case locks the rows it decides on (`SELECT … FOR
UPDATE`), and what has no row yet (an idempotency key's first use, a delivery pass over the
outbox) takes an advisory lock on its own key, for the transaction. SQLite has one writer at a
time, so there every function here is a no-op. A transaction that PostgreSQL ends for a
deadlock or a serialization failure is run again (`is_transient`; UnitOfWork.transact).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

# Advisory keys of single things ("otmg": schema migrations; "otdp": the in-process bus's
# delivery passes). Keys of named things (idempotency keys) come from `key_of`.
MIGRATION_LOCK_KEY = 0x6F746D67
DELIVERY_LOCK_KEY = 0x6F746470

# deadlock_detected, serialization_failure: PostgreSQL undid the whole transaction, and
# running it again is the documented answer.
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})

_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def key_of(*parts: str) -> int:
    """A signed 64-bit advisory key for a name (collisions only make two names share a lock)."""
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_key(conn: Connection, key: int) -> None:
    """Hold `key` until this transaction ends (PostgreSQL; nothing to do on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"key": key})


@contextlib.contextmanager
def session_lock(conn: Connection, key: int) -> Iterator[None]:
    """Hold `key` on this connection across its transactions (a migration commits as it goes)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()  # a failed migration leaves its transaction aborted
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        conn.commit()


def is_transient(error: BaseException) -> bool:
    """Whether the database undid a transaction that may simply run again."""
    if not isinstance(error, DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES


def lost_connection(error: BaseException) -> bool:
    """Whether `error` is the loss of the connection to the database (closed by a restart,
    say); the pool has replaced it, and every connection older than it, already."""
    return isinstance(error, DBAPIError) and error.connection_invalidated
