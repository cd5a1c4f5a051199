"""Consumers' progress as a signal between processes: a consumer or publisher that applied or
published events announces it (PostgreSQL's NOTIFY, sent when its transaction commits), and a
process's one waiter for settling commands (bus/jetstream_settle.py) listens, instead of
every waiting command polling the store. On other databases nothing is sent, and the waiter
looks on a timer instead."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("openticket.bus")

CHANNEL = "openticket_progress"
RECONNECT_SECONDS = 1.0
_ANNOUNCE = text(f"SELECT pg_notify('{CHANNEL}', '')")


def announce(conn: Connection) -> None:
    """Tell every listening process, when this transaction commits, that consumers moved on
    (several announcements of one transaction arrive as one)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_ANNOUNCE)


class ProgressListener:
    """A thread that sets `wake` at each announcement, on a connection of its own."""

    def __init__(self, engine: Engine, wake: threading.Event) -> None:
        self._engine = engine
        self._wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def start(self) -> None:
        if self.available and self._thread is None:
            self._thread = threading.Thread(
                target=self._listen, name="openticket-progress", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                connection = self._connect()
            except Exception as error:
                log.warning("progress listener: cannot listen (%s)", type(error).__name__)
                self._stop.wait(RECONNECT_SECONDS)
                continue
            try:
                while not self._stop.is_set():
                    for _ in connection.notifies(timeout=0.5):
                        self._wake.set()
            except Exception as error:
                log.debug("progress listener: connection lost (%s)", type(error).__name__)
                self._wake.set()  # something may have been missed: look now
            finally:
                with contextlib.suppress(Exception):
                    connection.close()

    def _connect(self) -> Any:
        """A psycopg connection of its own, out of the pool: it only ever listens."""
        pooled = self._engine.raw_connection()
        connection = pooled.driver_connection
        assert connection is not None
        pooled.detach()
        connection.rollback()  # the pool's liveness check left a transaction open
        connection.autocommit = True
        connection.execute(f"LISTEN {CHANNEL}")
        return connection
