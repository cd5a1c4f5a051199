"""Idempotency keys: a client's key for a creating request, remembered with its answer in the
same transaction as what it created, so a retried request gets the first answer back instead
of creating a second ticket, order or payment."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    String,
    Table,
    bindparam,
    insert,
    select,
)

from openticket.core.errors import Conflict, InvalidInput
from openticket.store.db import UTCDateTime, metadata

KEY_MAX = 200

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("key", String(KEY_MAX), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

_LOOKUP = select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
    idempotency_keys.c.user_id == bindparam("user_id"),
    idempotency_keys.c.key == bindparam("key"),
)
_INSERT = insert(idempotency_keys)


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {KEY_MAX} printable characters", "Idempotency-Key"
        )


def replay(conn: Connection, user_id: str, key: str, print_: str) -> dict[str, Any] | None:
    """The first answer to this key, or None if it is new; refuses a key reused for another
    request."""
    row = conn.execute(_LOOKUP, {"user_id": user_id, "key": key}).first()
    if row is None:
        return None
    if row.fingerprint != print_:
        raise Conflict(
            "This Idempotency-Key was already used for a different request", "Idempotency-Key"
        )
    response: dict[str, Any] = row.response
    return response


def remember(
    conn: Connection, user_id: str, key: str, print_: str, response: dict[str, Any], now: datetime
) -> None:
    conn.execute(
        _INSERT,
        {
            "user_id": user_id,
            "key": key,
            "fingerprint": print_,
            "response": response,
            "created_at": now,
        },
    )
