"""Consumers' progress as a signal between processes: a consumer that applied events announces
it (PostgreSQL's NOTIFY, sent when its transaction commits), and a
process's one waiter for settling commands (bus/jetstream_settle.py) listens, instead of
every waiting command polling the store. On other databases nothing is sent, and the waiter
looks on a timer instead.

An announcement says what happened (`Facts`): which events a consumer applied and what it
emitted handling each. The waiter learns from them
without reading the store, however many servers listen. One without facts (a bare
`announce`, or facts too long for a NOTIFY) says only "look in the store".
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("openticket.bus")

CHANNEL = "openticket_progress"
RECONNECT_SECONDS = 1.0
_ANNOUNCE = text(f"SELECT pg_notify('{CHANNEL}', '')")
_ANNOUNCE_FACTS = text(f"SELECT pg_notify('{CHANNEL}', :facts)")
PAYLOAD_MAX = 7000  # PostgreSQL refuses a payload of 8,000 bytes or more
APPLIED = "a"


def announce(conn: Connection) -> None:
    """Tell every listening process, when this transaction commits, that consumers moved on
    and to look in the store (several announcements of one transaction arrive as one)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_ANNOUNCE)


def announce_applied(
    conn: Connection, consumer: str, applied: list[str], emitted: list[tuple[str, str, str]]
) -> None:
    """Tell every listening process, when this transaction commits, that `consumer` applied
    these events and emitted `emitted` ((cause, event id, subject)) while handling them: an
    applied event and what it caused go in one notification."""
    caused: dict[str, list[str]] = {}
    for cause, event_id, subject in emitted:
        caused.setdefault(cause, []).append(f"{event_id} {subject}")
    _announce_parts(
        conn, f"{APPLIED} {consumer}", [";".join([e, *caused.get(e, ())]) for e in applied]
    )


def _announce_parts(conn: Connection, head: str, parts: list[str]) -> None:
    if conn.dialect.name != "postgresql" or not parts:
        return
    chunk: list[str] = []
    size = len(head)
    for part in parts:
        if len(head) + 1 + len(part) > PAYLOAD_MAX:
            announce(conn)  # too long to say: look in the store
            continue
        if size + 1 + len(part) > PAYLOAD_MAX:
            conn.execute(_ANNOUNCE_FACTS, {"facts": "\n".join([head, *chunk])})
            chunk, size = [], len(head)
        chunk.append(part)
        size += 1 + len(part)
    if chunk:
        conn.execute(_ANNOUNCE_FACTS, {"facts": "\n".join([head, *chunk])})


class Facts:
    """What announcements said, kept FACTS_SECONDS (a waiting command gives up sooner)."""

    def __init__(self) -> None:
        self.done: set[tuple[str, str]] = set()  # (consumer, event id)
        self.caused: dict[str, list[tuple[str, str]]] = {}  # cause -> (event id, subject)
        self._learned: deque[tuple[float, str, list[str]]] = deque()

    def learn(self, payload: str, now: float) -> bool:
        """Take in an announcement's facts; False when it had none (look in the store)."""
        head, _, body = payload.partition("\n")
        if not body:
            return False
        parts = body.split("\n")
        if head.startswith(APPLIED + " "):
            consumer = head[len(APPLIED) + 1 :]
            for part in parts:
                event_id, *emitted = part.split(";")
                self.done.add((consumer, event_id))
                for row in emitted:
                    caused_id, _, subject = row.partition(" ")
                    self.caused.setdefault(event_id, []).append((caused_id, subject))
        else:
            return False
        self._learned.append((now, head, parts))
        return True

    def forget_before(self, moment: float) -> None:
        while self._learned and self._learned[0][0] < moment:
            _, head, parts = self._learned.popleft()
            consumer = head[len(APPLIED) + 1 :]
            for part in parts:
                event_id = part.split(";", 1)[0]
                self.done.discard((consumer, event_id))
                self.caused.pop(event_id, None)


class ProgressListener:
    """A thread that hands each announcement's payload to `heard`, on a connection of its own;
    `heard(None)` when some may have been missed (it connected again, or only now)."""

    def __init__(self, engine: Engine, heard: Callable[[str | None], None]) -> None:
        self._engine = engine
        self._heard = heard
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
                self._heard(None)  # what was announced before this LISTEN was not heard
                while not self._stop.is_set():
                    for notification in connection.notifies(timeout=0.5):
                        self._heard(notification.payload)
            except Exception as error:
                log.debug("progress listener: connection lost (%s)", type(error).__name__)
                self._heard(None)  # something may have been missed: look now
            finally:
                with contextlib.suppress(Exception):
                    connection.close()

    def _connect(self) -> Any:
        """A psycopg connection of its own, out of the pool: it only ever listens."""
        pooled = self._engine.raw_connection()
        connection = pooled.driver_connection
        assert connection is not None
        pooled.detach()
        connection.rollback()  # autocommit can be switched on only outside a transaction
        connection.autocommit = True
        connection.execute(f"LISTEN {CHANNEL}")
        return connection
