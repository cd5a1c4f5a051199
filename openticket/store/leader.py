"""A lock held by at most one process per store, released when that process dies: who runs the
expiration scheduler (APScheduler's job store must not be shared by two running schedulers).

PostgreSQL: a session-level advisory lock on a connection kept for the purpose; the server
drops it when the connection closes, which a killed process's kernel does at once.
SQLite: an exclusive `flock` on a file next to the database, released by the kernel likewise.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text

# pg_try_advisory_lock's key for "the expiration scheduler's leader" ("otex").
EXPIRATION_LEADER_KEY = 0x6F746578


class LeaderLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if it is free (or held by us already); never waits."""

    def release(self) -> None: ...


def leader_lock(engine: Engine) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return FileLeaderLock(Path(f"{database}.expiration.lock"))
    return ProcessLeaderLock()


class PostgresLeaderLock:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return True
        conn = self._engine.connect()
        taken = bool(
            conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": EXPIRATION_LEADER_KEY}
            ).scalar_one()
        )
        conn.commit()  # the lock is the session's; no transaction stays open
        if taken:
            self._conn = conn
        else:
            conn.close()
        return taken

    def release(self) -> None:
        if self._conn is not None:
            # Invalidated, not returned to the pool: closing the session drops the lock.
            self._conn.invalidate()
            self._conn.close()
            self._conn = None


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        if self._file is not None:
            return True
        handle = open(self._path, "a+b")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None


class ProcessLeaderLock:
    """An in-memory database lives in one process: that process leads."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass
