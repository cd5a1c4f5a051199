"""Fixtures that run a module's tests in several setups; a module takes one in by importing
it (it then answers to the name it gives, e.g. `db_url`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import User, marketplace, postgres_database


@pytest.fixture(params=["sqlite", "postgresql"], name="db_url")
def on_both_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store the Api of each test runs on: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'market.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["embedded", "server", "nats"], name="people")
def in_three_modes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., User]]:
    """People of one marketplace: embedded, through a server, then scaled out on NATS."""
    with marketplace(request.param, tmp_path) as person:
        yield person
