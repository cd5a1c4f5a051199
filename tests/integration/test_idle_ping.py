"""A pooled PostgreSQL connection is pinged before use only after it sat idle: a round trip
per transaction saved in every process, without handing a closed connection to a command."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, text

from openticket.store.db import create_store_engine
from openticket.store.idle_ping import IDLE_BEFORE_PING_SECONDS
from tests.conftest import POSTGRES_ADMIN, eventually


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


def test_a_connection_used_again_at_once_is_not_pinged(engine: Engine) -> None:
    first = _backend(engine)
    pings = _count_pings(engine)
    for _ in range(20):
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
    assert pings == []
    assert _backend(engine) == first  # one connection, reused each time


def test_a_connection_that_sat_idle_is_pinged_once_and_replaced_if_closed(engine: Engine) -> None:
    closed = _backend(engine)
    pings = _count_pings(engine)
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (closed,))
        eventually(
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (closed,)
                ).fetchall()
            ),
            what="the closed connection's backend to end",
        )
    time.sleep(IDLE_BEFORE_PING_SECONDS)  # the pooled connection has sat idle that long

    replaced = _backend(engine)  # no error: the dead connection was found out and replaced
    assert replaced != closed
    assert len(pings) == 1
    assert _backend(engine) == replaced  # the new one is used again without a ping
    assert len(pings) == 1
