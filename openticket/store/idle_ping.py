"""Asking PostgreSQL whether a pooled connection is alive, only when the answer may be no.

SQLAlchemy's `pool_pre_ping` sends a statement before every checkout of a connection: a
round trip per transaction in every process, a sixth of all statements in a scaled-out race.
A connection handed back to the pool a moment ago is alive; one that sat idle may have been
closed meanwhile (PostgreSQL restarted, an idle timeout, a dropped network), so only that one
is pinged. A failed ping renews the whole pool, as SQLAlchemy's own does: every connection
older than the failure is reconnected before its next use.

A connection closed less than `IDLE_BEFORE_PING_SECONDS` after its last use is not pinged, so
each command that takes such a connection before any failure was seen (up to one per
connection of the pool, after a restart that took under that long) fails its first statement
instead. A write transaction that lost its connection before it asked to commit is run again
on a new one (`UnitOfWork.transact`); a read or another caller gets the error, which the
server answers with 503 and Retry-After, as it did for a command whose connection was lost
while in use.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError, InvalidatePoolError

IDLE_BEFORE_PING_SECONDS = 1.0
_RETURNED_AT = "openticket_returned_at"


def ping_after_idle(engine: Engine) -> None:
    """Ping a connection taken from `engine`'s pool once it has been idle
    `IDLE_BEFORE_PING_SECONDS` (a new connection, never returned, is not pinged)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool takes either as "reconnect this one and try again"; the first also
            # reconnects every other connection it holds that is older than now.
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise InvalidatePoolError("a pooled connection was closed") from error
            raise DisconnectionError("a pooled connection failed its ping") from error
