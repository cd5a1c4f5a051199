"""Idempotency keys: a client's key for a creating request, remembered with its answer, so a
retried request gets the first answer back instead of creating a second ticket, order or
payment.

A key whose request spans several transactions (a payment: the card is charged between two)
is claimed first: a row without an answer, held until `locked_until`. A repeat that arrives
meanwhile waits for the answer, or is told the request is in progress; a claim whose process
died runs out, and the next repeat takes the key over.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    String,
    Table,
    bindparam,
    delete,
    select,
    update,
)

from openticket.core.errors import Conflict, InvalidInput
from openticket.store.db import UTCDateTime, metadata
from openticket.store.insert_new import insert_new

KEY_MAX = 200

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("key", String(KEY_MAX), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    # SQL NULL (not JSON null) while its request is under way.
    Column("response", JSON(none_as_null=True), nullable=True),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

_LOOKUP = select(
    idempotency_keys.c.fingerprint,
    idempotency_keys.c.response,
    idempotency_keys.c.locked_until,
).where(
    idempotency_keys.c.user_id == bindparam("user_id"),
    idempotency_keys.c.key == bindparam("key"),
)
_THIS_KEY = (idempotency_keys.c.user_id == bindparam("b_user_id")) & (
    idempotency_keys.c.key == bindparam("b_key")
)


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX or not (key.isascii() and key.isprintable()):
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {KEY_MAX} printable ASCII characters",
            "Idempotency-Key",
        )


def _different() -> Conflict:
    return Conflict(
        "This Idempotency-Key was already used for a different request", "Idempotency-Key"
    )


def replay(conn: Connection, user_id: str, key: str, print_: str) -> dict[str, Any] | None:
    """The first answer to this key, or None if it is new; refuses a key reused for another
    request."""
    row = conn.execute(_LOOKUP, {"user_id": user_id, "key": key}).first()
    if row is None:
        return None
    if row.fingerprint != print_:  # also while another request holds the key
        raise _different()
    response: dict[str, Any] | None = row.response
    return response


class State(enum.Enum):
    CLAIMED = "claimed"  # this request runs, and answers for the key
    ANSWERED = "answered"  # an earlier request answered: replay its answer
    BUSY = "busy"  # another request is running right now


class Claim(NamedTuple):
    state: State
    response: dict[str, Any] | None = None
    held_until: datetime | None = None  # CLAIMED: this claim's own mark


def claim(
    conn: Connection, user_id: str, key: str, print_: str, now: datetime, until: datetime
) -> Claim:
    row = conn.execute(_LOOKUP, {"user_id": user_id, "key": key}).first()
    if row is None:
        values = {
            "user_id": user_id,
            "key": key,
            "fingerprint": print_,
            "response": None,
            "locked_until": until,
            "created_at": now,
        }
        if insert_new(conn, idempotency_keys, values):
            return Claim(State.CLAIMED, held_until=until)
        return Claim(State.BUSY)  # claimed by another request a moment ago
    if row.fingerprint != print_:
        raise _different()
    if row.response is not None:
        return Claim(State.ANSWERED, row.response)
    if row.locked_until is not None and now < row.locked_until:
        return Claim(State.BUSY)
    taken = conn.execute(  # its request died: take it over, unless another just did
        update(idempotency_keys)
        .where(_THIS_KEY, idempotency_keys.c.response.is_(None))
        .where(idempotency_keys.c.locked_until == bindparam("b_was"))
        .values(locked_until=until),
        {"b_user_id": user_id, "b_key": key, "b_was": row.locked_until},
    )
    if taken.rowcount != 1:
        return Claim(State.BUSY)
    return Claim(State.CLAIMED, held_until=until)


def remember(
    conn: Connection, user_id: str, key: str, print_: str, response: dict[str, Any], now: datetime
) -> None:
    """Keep the answer (of a claimed key, or of a request answered in one transaction). The
    first answer stays: a request that lost its claim to a repeat (same request, as the
    fingerprint says) does not overwrite the repeat's."""
    answered = conn.execute(
        update(idempotency_keys)
        .where(
            _THIS_KEY,
            idempotency_keys.c.response.is_(None),
            idempotency_keys.c.fingerprint == bindparam("b_print"),
        )
        .values(response=response, locked_until=None),
        {"b_user_id": user_id, "b_key": key, "b_print": print_},
    )
    if answered.rowcount == 0:
        values = {
            "user_id": user_id,
            "key": key,
            "fingerprint": print_,
            "response": response,
            "locked_until": None,
            "created_at": now,
        }
        insert_new(conn, idempotency_keys, values)


def release(conn: Connection, user_id: str, key: str, held_until: datetime) -> None:
    """Give up this request's own claim without an answer (the request may run again under
    this key); a claim another request took over since is left alone."""
    conn.execute(
        delete(idempotency_keys).where(
            _THIS_KEY,
            idempotency_keys.c.response.is_(None),
            idempotency_keys.c.locked_until == bindparam("b_held_until"),
        ),
        {"b_user_id": user_id, "b_key": key, "b_held_until": held_until},
    )
