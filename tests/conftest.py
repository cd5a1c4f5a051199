"""Shared fixtures: real SQLite files per test, a clock tests move by hand, and the real
`openticket` console script in subprocesses with isolated homes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openticket.app.local import LocalApi
from openticket.bootstrap import Overrides, bootstrap
from openticket.config import Settings
from openticket.core.auth.passwords import Argon2Hasher
from openticket.store.uow import UnitOfWork

# The installed console script, next to the interpreter running the tests.
_SCRIPT = Path(sys.executable).parent / "openticket"
OPENTICKET = [str(_SCRIPT if _SCRIPT.exists() else shutil.which("openticket"))]


class ManualClock:
    """A clock tests move by hand (time itself is not faked for anything else)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# How long tests wait for something that should happen (a server up, a replica caught up).
# Generous: on a loaded machine everything is slow, and a wait ends as soon as it holds.
PATIENCE_SECONDS = 180.0


def eventually(check: Callable[[], Any], seconds: float = PATIENCE_SECONDS, what: str = "") -> Any:
    """Poll `check` until it returns something truthy; that value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting{' for ' + what if what else ''}"
        time.sleep(0.1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'market.db'}"


@pytest.fixture
def make_api(tmp_path: Path, db_url: str, clock: ManualClock) -> Iterator[Callable[..., LocalApi]]:
    made: list[LocalApi] = []

    def make(
        order_ttl: int = 900, *, settings: dict[str, Any] | None = None, **overrides: Any
    ) -> LocalApi:
        """An Api on the test's store; `settings`: more Settings fields (as the environment
        gives them: text)."""
        made_settings = Settings(
            home=tmp_path / "home",
            db_url=db_url,
            order_ttl_setting=str(order_ttl),
            **(settings or {}),
        )
        options = Overrides(**({"clock": clock, "hasher": Argon2Hasher.cheap()} | overrides))
        api = bootstrap(made_settings, options)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api()


def dump_store(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused command changed nothing."""
    with sqlite3.connect(db_path) as conn:
        names = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1")
        ]
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
        }


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def error_json(self) -> Any:
        return json.loads(self.stderr)


@dataclass
class User:
    """One person at a terminal: their own OPENTICKET_HOME, the shared database."""

    home: Path
    db_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("OPENTICKET_")}
        env.update(
            OPENTICKET_HOME=str(self.home),
            OPENTICKET_DB=f"sqlite:///{self.db_path}",
            NO_COLOR="1",
            COLUMNS="200",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*OPENTICKET, *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )

    def run(
        self, *args: str, timeout: float = PATIENCE_SECONDS, env: dict[str, str] | None = None
    ) -> Result:
        done = subprocess.run(
            [*OPENTICKET, *args],
            env=self.env() | (env or {}),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> Any:
        """Run with --json, insist on success, return the parsed output."""
        result = self.run(*args, "--json")
        assert result.code == 0, result.stderr
        return result.json()


@pytest.fixture
def people(tmp_path: Path) -> Callable[[str], User]:
    db_path = tmp_path / "shared.db"

    def person(name: str, **env: str) -> User:
        return User(home=tmp_path / "homes" / name, db_path=db_path, extra_env=dict(env))

    return person


def signed_up(person: User, email: str, password: str = "correct horse") -> dict[str, Any]:
    user: dict[str, Any] = person.ok("auth", "signup", email, "--password", password)
    return user


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(
    db: Path | str,
    home: Path,
    port: int | None = None,
    started: list[subprocess.Popen[bytes]] | None = None,
    args: tuple[str, ...] = (),
    **extra_env: str,
) -> Iterator[str]:
    """A real `openticket serve` on a loopback port (a free one by default), until the block
    ends. `db` is a SQLite file or a database URL; `started` receives the process; `args`
    go to `serve`."""
    import urllib.request

    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTICKET_")}
    db_url = db if isinstance(db, str) else f"sqlite:///{db}"
    env.update(OPENTICKET_HOME=str(home), OPENTICKET_DB=db_url, **extra_env)
    log = open(home.parent / f"serve-{port}.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [*OPENTICKET, "serve", "--port", str(port), *args], env=env, stdout=log, stderr=log
    )
    if started is not None:
        started.append(server)
    try:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = (home.parent / f"serve-{port}.log").read_text()
                    raise RuntimeError(f"openticket serve did not start: {output}") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@contextlib.contextmanager
def marketplace(mode: str, tmp_path: Path, **server_env: str) -> Iterator[Callable[..., User]]:
    """People of one marketplace: `embedded` on a shared SQLite file, `server` through a real
    `openticket serve` on it, `postgres` and `postgres-server` the same on a PostgreSQL
    database of their own, `nats` on PostgreSQL + NATS JetStream with a worker process per
    domain. `server_env` goes to the server's processes (`serve`, the workers)."""
    db_path = tmp_path / "shared.db"
    with contextlib.ExitStack() as stack:
        extra: dict[str, str] = {}
        db: Path | str = db_path
        if mode.startswith("postgres") or mode == "nats":
            db = extra["OPENTICKET_DB"] = stack.enter_context(postgres_database())
        if mode == "nats":  # scaled out: a worker process per domain, talking through NATS
            extra["OPENTICKET_BUS"] = NATS_URL
            extra["OPENTICKET_NATS_STREAM"] = stack.enter_context(nats_stream())
            stack.enter_context(domain_workers(extra | server_env, tmp_path))
        if mode.endswith("server"):
            (tmp_path / "server-home").mkdir()
            extra["OPENTICKET_SERVER"] = stack.enter_context(
                running_server(db, tmp_path / "server-home", **server_env)
            )

        def person(name: str, **env: str) -> User:
            return User(
                home=tmp_path / "homes" / name, db_path=db_path, extra_env=extra | dict(env)
            )

        yield person


@pytest.fixture(params=["embedded", "server", "postgres", "postgres-server", "nats"])
def people_anywhere(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., User]]:
    with marketplace(request.param, tmp_path) as people:
        yield people


@pytest.fixture(scope="session")
def local_stripe() -> Iterator[Any]:
    """localstripe on loopback, one per test process; each test starts from an empty one."""
    from tests.stripe_servers import LocalStripe

    server = LocalStripe()
    yield server
    server.close()


@pytest.fixture
def stripe_backend(local_stripe: Any) -> Any:
    local_stripe.reset()
    return local_stripe


@pytest.fixture
def stripe_front(stripe_backend: Any) -> Iterator[Any]:
    from tests.stripe_servers import StripeFront

    front = StripeFront(stripe_backend)
    yield front
    front.close()


REQUIRE_SERVICES = os.environ.get("OPENTICKET_REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"


def service_missing(reason: str) -> None:
    """Skip a test whose service is absent, but fail it where services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (OPENTICKET_REQUIRE_SERVICES=1 requires it)")
    pytest.skip(reason)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (dropped afterwards); its URL."""
    import uuid

    import psycopg

    name = f"openticket_test_{uuid.uuid4().hex[:16]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        service_missing(f"PostgreSQL is not reachable at 127.0.0.1:5432: {error}".strip())
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[UnitOfWork]:
    """The store's unit of work on a fresh, migrated PostgreSQL database."""
    from openticket.core.clock import utc_now
    from openticket.store.db import create_store_engine
    from openticket.store.migrate import ensure_schema

    engine = create_store_engine(postgres_url)
    ensure_schema(engine)
    yield UnitOfWork(engine, utc_now)
    engine.dispose()


NATS_URL = "nats://127.0.0.1:4222"
SCALED_OUT_DOMAINS = ("tickets", "orders", "payments", "expiration", "notify")


@contextlib.contextmanager
def nats_stream(url: str = NATS_URL) -> Iterator[str]:
    """A JetStream stream name of this test's own (the stream itself is made on first use by
    openticket), deleted afterwards."""
    import asyncio
    import socket
    import uuid
    from urllib.parse import urlsplit

    import nats

    address = urlsplit(url)
    try:
        socket.create_connection((address.hostname, address.port), timeout=2).close()
    except OSError as error:
        service_missing(f"NATS is not reachable at {url}: {error}")
    name = f"OT_TEST_{uuid.uuid4().hex[:12].upper()}"
    try:
        yield name
    finally:

        async def delete() -> None:
            connection = await nats.connect(url)
            with contextlib.suppress(Exception):  # never made
                await connection.jetstream().delete_stream(name)
            await connection.close()

        asyncio.run(delete())


@contextlib.contextmanager
def domain_workers(
    env: dict[str, str], tmp_path: Path, domains: tuple[str, ...] = SCALED_OUT_DOMAINS
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """An `openticket worker --domains D` process per domain, stopped afterwards."""
    workers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for domain in domains:
            workers[domain] = start_worker(env, tmp_path, domain)
        yield workers
    finally:
        stop_workers(workers.values())


def start_worker(env: dict[str, str], tmp_path: Path, domain: str) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("OPENTICKET_")}
    full.update(env, OPENTICKET_HOME=str(tmp_path / f"worker-{domain}"))
    with open(tmp_path / f"worker-{domain}.log", "ab") as log:
        return subprocess.Popen(
            [*OPENTICKET, "worker", "--domains", domain], env=full, stdout=log, stderr=log
        )


def stop_workers(workers: Iterable[subprocess.Popen[bytes]]) -> None:
    running = list(workers)
    for worker in running:
        worker.terminate()
    for worker in running:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
