"""Engines per database URL and the MetaData every domain's tables are declared on.

SQLite runs in WAL mode with a busy timeout; write transactions start with BEGIN IMMEDIATE so
concurrent writers queue for the lock instead of failing half-way with "database is locked".

PostgreSQL has no such queue: writers run in parallel, each locking the rows it decides on
(store/locks.py has the rest of that story), so more processes on one database add
throughput.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.types import TypeDecorator

from openticket.store.idle_ping import ping_after_idle

WRITE_OPTION = "openticket_write"
SQLITE_BUSY_TIMEOUT_SECONDS = 60
SQLITE_POOL_SIZE = 48
# Connections per process (and as many again in bursts): a server's requests queue for them.
# Six processes of a scaled-out marketplace stay within PostgreSQL's default of 100.
SERVER_POOL_SIZE = 8

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, so comparisons agree on every engine."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_utc  # the dialect's own parser is a regex per value; rows share values


@functools.lru_cache(maxsize=4096)
def _parse_sqlite_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sqlite_utc(value: str | None) -> datetime | None:
    return None if value is None else _parse_sqlite_utc(value)


def _json_text(value: object) -> str:
    """JSON columns (event payloads) as compact UTF-8 text, by orjson: a fifth of json.dumps's
    time, and an import writes one payload per row."""
    return orjson.dumps(value).decode()


# The database holds password hashes: only its owner may read it (and the folder it is in,
# when openticket makes that folder).
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def make_private_file(path: Path) -> None:
    """Create `path` readable by its owner only (and any missing folders above it, 0700),
    unless it exists: an existing file keeps the mode its owner gave it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))


def readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & 0o077)
    except FileNotFoundError:
        return False


def create_store_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _server_engine(url)
    pool: dict[str, int] = {}
    if (path := sqlite_file(url)) is not None:
        # SQLite gives its -wal and -shm files the database file's mode.
        make_private_file(path)
        # A server's request threads (40 by default) each keep a connection: with the
        # default pool of 5 (+10 overflow) every burst opened and configured new ones.
        pool = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE}
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below (pysqlite's own
        # implicit BEGIN would defer the write lock until the first write).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _server_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        pool_size=SERVER_POOL_SIZE,
        max_overflow=SERVER_POOL_SIZE,
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )
    ping_after_idle(engine)  # not pool_pre_ping: a round trip before every transaction
    return engine


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


def write_lock(engine: Engine) -> AbstractContextManager[object]:
    """What a thread holds while it writes through `engine`. SQLite has one writer at a time:
    threads of this process queue here, woken the moment the lock is free, instead of in
    SQLite's busy handler, which sleeps and retries (up to 100 ms a step; under a server's
    load that was the p99 latency). Other processes still wait in the database. PostgreSQL's
    writers need no turn: nothing to hold."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = threading.RLock()
        return lock


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and credential keys."""
    return make_url(url).render_as_string(hide_password=True)
