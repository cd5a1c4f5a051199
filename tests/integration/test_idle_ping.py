"""A pooled PostgreSQL connection is pinged before use only after it sat idle: a round trip
per transaction saved in every process. A closed connection found by the ping renews the
pool; one not pinged costs a write transaction a rerun, not the command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from openticket.core.clock import utc_now
from openticket.store import idle_ping
from openticket.store.db import create_store_engine
from openticket.store.uow import Tx, UnitOfWork
from tests.conftest import POSTGRES_ADMIN, eventually

NEVER = 3600.0  # idle longer than any test: no ping
ALWAYS = 0.0  # every connection handed back is pinged when taken again


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_store_engine(postgres_url)
    yield engine
    engine.dispose()


def _count_pings(engine: Engine) -> list[Any]:
    pings: list[Any] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        pid: int = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _close_backends(*pids: int) -> None:
    """What a PostgreSQL restart does to a pool's connections (the database itself stays)."""
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (list(pids),)
        )
        eventually(
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),)
                ).fetchall()
            ),
            what="the closed connections' backends to end",
        )


def test_a_connection_used_again_within_the_idle_time_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idle_ping, "IDLE_BEFORE_PING_SECONDS", NEVER)
    first = _backend(engine)
    pings = _count_pings(engine)
    for _ in range(20):
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == []
    assert _backend(engine) == first  # one connection, reused each time


def test_a_closed_connection_that_sat_idle_is_found_by_its_ping_and_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idle_ping, "IDLE_BEFORE_PING_SECONDS", ALWAYS)
    closed = _backend(engine)
    pings = _count_pings(engine)
    _close_backends(closed)

    replaced = _backend(engine)  # no error: the closed connection was found and replaced
    assert replaced != closed
    assert len(pings) == 1


def test_one_failed_ping_renews_every_older_connection_of_the_pool(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idle_ping, "IDLE_BEFORE_PING_SECONDS", ALWAYS)
    held = [engine.connect() for _ in range(3)]
    closed = [conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in held]
    for conn in held:
        conn.close()
    pings = _count_pings(engine)
    _close_backends(*closed)

    again = [engine.connect() for _ in range(3)]  # the three pooled ones, all closed
    pids = [conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in again]
    for conn in again:
        conn.close()
    assert set(pids).isdisjoint(closed)
    assert len(pings) == 1  # the other two were reconnected without asking


@pytest.fixture
def marks(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> UnitOfWork:
    """A unit of work on a table of marks, its connections never pinged."""
    monkeypatch.setattr(idle_ping, "IDLE_BEFORE_PING_SECONDS", NEVER)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE marks (n integer)"))
    return UnitOfWork(engine, utc_now)


def _marked(engine: Engine) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(text("SELECT count(*) FROM marks")).scalar_one()
        return count


def test_a_write_that_lost_its_connection_before_committing_runs_again_on_a_new_one(
    engine: Engine, marks: UnitOfWork
) -> None:
    _close_backends(_backend(engine))

    def mark(tx: Tx) -> None:
        tx.conn.execute(text("INSERT INTO marks VALUES (1)"))

    marks.transact(mark)  # its first statement met the closed connection
    assert marks.reruns == 1
    assert _marked(engine) == 1


def test_a_write_that_lost_its_connection_while_committing_is_not_run_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a COMMIT whose answer never came took effect is unknown: running the command
    again could do it twice, so the caller gets the error (a 503 from the server)."""
    monkeypatch.setattr(idle_ping, "IDLE_BEFORE_PING_SECONDS", NEVER)
    uow = UnitOfWork(engine, utc_now)

    def closed_before_commit(tx: Tx) -> None:
        _close_backends(tx.conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    with pytest.raises(OperationalError) as raised:
        uow.transact(closed_before_commit)
    assert raised.value.connection_invalidated
    assert uow.reruns == 0


def test_a_write_that_lost_its_connection_inside_a_savepoint_runs_again(
    engine: Engine, marks: UnitOfWork
) -> None:
    attempts: list[int] = []

    def mark(tx: Tx) -> None:
        attempts.append(1)
        with tx.savepoint():
            if len(attempts) == 1:
                _close_backends(tx.conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
            tx.conn.execute(text("INSERT INTO marks VALUES (1)"))

    marks.transact(mark)
    assert marks.reruns == 1
    assert _marked(engine) == 1
