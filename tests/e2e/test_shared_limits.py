"""Scaled out, the servers of one marketplace share their throttling windows (kept in
PostgreSQL): a stranger who spreads guesses or sign-ups over N servers gets no more tries
than from one. And servers (or workers) started together on a new database migrate it once,
taking turns."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import httpx

from openticket.store.revision import HEAD_REVISION
from tests.conftest import OPENTICKET, PATIENCE_SECONDS, User, running_server

FAILURES_ALLOWED = 10  # server/app.py: failed sign-ins per account and address a minute


def test_failed_sign_ins_are_counted_across_servers(postgres_url: str, tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            urls.append(stack.enter_context(running_server(postgres_url, tmp_path / name)))
        clients = [stack.enter_context(httpx.Client(base_url=url, timeout=60)) for url in urls]
        owner = {"email": "owner@example.com", "password": "correct horse"}
        assert clients[0].post("/api/users/signup", json=owner).status_code == 201
        guess = owner | {"password": "wrong guess"}
        answers = [
            clients[n % 2].post("/api/users/signin", json=guess).status_code
            for n in range(FAILURES_ALLOWED + 2)
        ]
        # Ten wrong guesses in all, five on each server; then both refuse to listen.
        assert answers == [400] * FAILURES_ALLOWED + [429, 429]
        refused = clients[0].post("/api/users/signin", json=owner)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_sign_ups_from_one_address_are_counted_across_servers(
    postgres_url: str, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        urls = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            server = running_server(
                postgres_url, tmp_path / name, OPENTICKET_SIGNUPS_PER_MINUTE="3"
            )
            urls.append(stack.enter_context(server))
        answers = [
            httpx.post(
                f"{urls[n % 2]}/api/users/signup",
                json={"email": f"user{n}@example.com", "password": "correct horse"},
                timeout=60,
            ).status_code
            for n in range(5)
        ]
        assert answers == [201, 201, 201, 429, 429]


def test_processes_started_together_on_a_new_database_migrate_it_once(
    postgres_url: str, tmp_path: Path
) -> None:
    people = [
        User(
            home=tmp_path / f"p{n}",
            db_path=tmp_path / "unused.db",
            extra_env={"OPENTICKET_DB": postgres_url},
        )
        for n in range(4)
    ]
    upgrades = [person.popen("db", "upgrade", "--json") for person in people]
    outcomes = [upgrade.communicate(timeout=PATIENCE_SECONDS) for upgrade in upgrades]
    assert [upgrade.returncode for upgrade in upgrades] == [0, 0, 0, 0], outcomes
    status = subprocess.run(
        [*OPENTICKET, "db", "upgrade", "--json"],
        env=people[0].env(),
        capture_output=True,
        text=True,
        timeout=PATIENCE_SECONDS,
        check=True,
    )
    assert HEAD_REVISION in status.stdout
