"""Idempotency keys: a client's key for a creating request, remembered with its answer, so a
retried request gets the first answer back instead of creating a second ticket, order or
payment.

A key whose request spans several transactions (a payment: the card is charged between two)
is claimed first: a row without an answer, held until `locked_until`. A repeat that arrives
meanwhile waits for the answer, or is told the request is in progress; a claim whose process
died runs out, and the next repeat takes the key over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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

from openticket.app.once import KEY_MAX
from openticket.app.ports import Claim, ClaimState
from openticket.core.errors import Conflict
from openticket.core.ports import Transaction
from openticket.store.db import UTCDateTime, metadata
from openticket.store.insert_new import insert_new
from openticket.store.locks import key_of, lock_key
from openticket.store.uow import connection

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


def _different() -> Conflict:
    return Conflict(
        "This Idempotency-Key was already used for a different request", "Idempotency-Key"
    )


def replay(conn: Connection, user_id: str, key: str, print_: str) -> dict[str, Any] | None:
    """The first answer to this key, or None if it is new; refuses a key reused for another
    request. The key stays locked until the transaction ends: a repeat that arrives meanwhile,
    in any process, waits for this request's answer instead of making a second one."""
    lock_key(conn, key_of("idempotency", user_id, key))
    row = conn.execute(_LOOKUP, {"user_id": user_id, "key": key}).first()
    if row is None:
        return None
    if row.fingerprint != print_:  # also while another request holds the key
        raise _different()
    response: dict[str, Any] | None = row.response
    return response


def claim(
    conn: Connection, user_id: str, key: str, print_: str, now: datetime, until: datetime
) -> Claim:
    lock_key(conn, key_of("idempotency", user_id, key))
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
            return Claim(ClaimState.CLAIMED, held_until=until)
        return Claim(ClaimState.BUSY)  # claimed by another request a moment ago
    if row.fingerprint != print_:
        raise _different()
    if row.response is not None:
        return Claim(ClaimState.ANSWERED, row.response)
    if row.locked_until is not None and now < row.locked_until:
        return Claim(ClaimState.BUSY)
    taken = conn.execute(  # its request died: take it over, unless another just did
        update(idempotency_keys)
        .where(_THIS_KEY, idempotency_keys.c.response.is_(None))
        .where(idempotency_keys.c.locked_until == bindparam("b_was"))
        .values(locked_until=until),
        {"b_user_id": user_id, "b_key": key, "b_was": row.locked_until},
    )
    if taken.rowcount != 1:
        return Claim(ClaimState.BUSY)
    return Claim(ClaimState.CLAIMED, held_until=until)


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


class IdempotencyRecords:
    """The application's port (app/ports.py) on this table."""

    def replay(
        self, tx: Transaction, user_id: str, key: str, fingerprint: str
    ) -> dict[str, Any] | None:
        return replay(connection(tx), user_id, key, fingerprint)

    def claim(
        self, tx: Transaction, user_id: str, key: str, fingerprint: str, until: datetime
    ) -> Claim:
        return claim(connection(tx), user_id, key, fingerprint, tx.now, until)

    def remember(
        self, tx: Transaction, user_id: str, key: str, fingerprint: str, response: dict[str, Any]
    ) -> None:
        remember(connection(tx), user_id, key, fingerprint, response, tx.now)

    def release(self, tx: Transaction, user_id: str, key: str, held_until: datetime) -> None:
        release(connection(tx), user_id, key, held_until)
