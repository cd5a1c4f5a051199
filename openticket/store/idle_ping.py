"""Asking PostgreSQL whether a pooled connection is alive, only when the answer may be no.

SQLAlchemy's `pool_pre_ping` sends a statement before every use of a connection: a round
trip per transaction in every process, a sixth of all statements in a scaled-out race. A
connection handed back to the pool a moment ago is alive; one that sat idle may have been
closed meanwhile (PostgreSQL restarted, an idle timeout, a dropped network), so only that
one is pinged, and replaced by a new connection if the ping fails. A connection that dies
between two uses less than `IDLE_BEFORE_PING_SECONDS` apart fails its next statement, as one
in use at that moment would with any ping; that marks every connection of the pool older than
the failure as stale, so the process loses one command to it, told to try again.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

IDLE_BEFORE_PING_SECONDS = 1.0
_RETURNED_AT = "openticket_returned_at"


def ping_after_idle(engine: Engine, idle_seconds: float = IDLE_BEFORE_PING_SECONDS) -> None:
    """Ping a connection taken from `engine`'s pool when it has been idle `idle_seconds`."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool takes this as "replace the connection", and tries again.
            raise DisconnectionError("an idle connection was closed") from error
