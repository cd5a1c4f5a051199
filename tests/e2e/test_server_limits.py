"""An anonymous client cannot exhaust or stall a real `openticket serve`: bodies and fields are
bounded before any work, sign-up and sign-in are throttled per address (and guessing one
account's password from one address does not lock its owner out), forwarded-for headers count
only from a named proxy, and event streams and exports are bounded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import User, eventually, running_server, signed_up

PASSWORD = "long enough"


@contextlib.contextmanager
def served(tmp_path: Path, *args: str, **env: str) -> Iterator[str]:
    (tmp_path / "server-home").mkdir(exist_ok=True)
    with running_server(tmp_path / "db.sqlite", tmp_path / "server-home", args=args, **env) as url:
        yield url


def client(url: str, address: str = "127.0.0.1") -> httpx.Client:
    """A client whose connections come from `address` (any 127.x.y.z reaches loopback)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, timeout=60)


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


def test_bodies_and_fields_are_bounded_before_any_work(tmp_path: Path) -> None:
    with served(tmp_path) as url, client(url) as http:
        huge = {"email": "x@example.com", "password": "p" * (2 << 20)}
        too_big = http.post("/api/users/signin", json=huge)
        assert too_big.status_code == 413
        assert "larger than 1 MiB" in _errors(too_big)[0]["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: sent as it is made
            yield b'{"email": "x@example.com", "password": "'
            for _ in range(64):
                yield b"p" * 65536
            yield b'"}'

        chunked = http.post(
            "/api/users/signup", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert chunked.status_code == 413
        for path in ("/api/users/signin", "/api/users/signup"):
            long_email = http.post(path, json={"email": "e" * 300, "password": PASSWORD})
            assert long_email.status_code == 422 and _errors(long_email)[0]["field"] == "email"
            long_password = http.post(path, json={"email": "x@example.com", "password": "p" * 5000})
            assert long_password.status_code == 422
            assert _errors(long_password)[0]["field"] == "password"
        assert http.get("/healthz").status_code == 200


def test_sign_ups_are_throttled_per_address(tmp_path: Path) -> None:
    with served(tmp_path, OPENTICKET_SIGNUPS_PER_MINUTE="3") as url:
        with client(url) as http:
            for n in range(3):
                body = {"email": f"u{n}@example.com", "password": PASSWORD}
                assert http.post("/api/users/signup", json=body).status_code == 201
            refused = http.post(
                "/api/users/signup", json={"email": "u9@example.com", "password": PASSWORD}
            )
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            taken = http.post(
                "/api/users/signup", json={"email": "u0@example.com", "password": PASSWORD}
            )
            assert taken.status_code == 429  # throttled before it could say anything
        with client(url, "127.0.0.2") as other:
            body = {"email": "elsewhere@example.com", "password": PASSWORD}
            assert other.post("/api/users/signup", json=body).status_code == 201


def test_a_stranger_guessing_cannot_lock_the_owner_out(tmp_path: Path) -> None:
    with served(tmp_path) as url:
        with client(url) as owner:
            body = {"email": "owner@example.com", "password": PASSWORD}
            assert owner.post("/api/users/signup", json=body).status_code == 201
        with client(url, "127.0.0.2") as stranger:
            for _ in range(10):
                guess = {"email": "owner@example.com", "password": "wrong guess"}
                assert stranger.post("/api/users/signin", json=guess).status_code == 400
            locked = stranger.post("/api/users/signin", json=guess)
            assert locked.status_code == 429
            right = {"email": "owner@example.com", "password": PASSWORD}
            assert stranger.post("/api/users/signin", json=right).status_code == 429
        with client(url, "127.0.0.3") as owner_elsewhere:
            signed_in = owner_elsewhere.post("/api/users/signin", json=right)
            assert signed_in.status_code == 200


@pytest.mark.parametrize("proxy", [False, True])
def test_forwarded_for_counts_only_from_a_named_proxy(tmp_path: Path, proxy: bool) -> None:
    args = ("--forwarded-allow-ips", "127.0.0.1") if proxy else ()
    with served(tmp_path, *args) as url, client(url) as http:
        answers = []
        for n in range(31):  # the per-address limit is 30 attempts a minute
            answers.append(
                http.post(
                    "/api/users/signin",
                    json={"email": f"nobody{n}@example.com", "password": "whatever1"},
                    headers={"X-Forwarded-For": f"10.0.0.{n + 1}"},
                ).status_code
            )
    assert answers[:30] == [400] * 30
    assert answers[30] == (400 if proxy else 429)


def test_event_replay_is_bounded_for_anonymous_clients(tmp_path: Path) -> None:
    with served(tmp_path) as url:
        seller = User(tmp_path / "seller", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        signed_up(seller, "seller@example.com")
        rows = "\n".join(f'{{"title": "Seat {n}", "price": "5"}}' for n in range(1200))
        (tmp_path / "seats.jsonl").write_text(rows + "\n")
        assert seller.ok("tickets", "import", str(tmp_path / "seats.jsonl"))["created"] == 1200
        token = seller.ok("auth", "whoami") and _token(seller)

        def replay(**headers: str) -> list[int]:
            with client(url) as http:
                answer = http.get("/api/events", params={"follow": "false"}, headers=headers)
            assert answer.status_code == 200, answer.text
            return [int(line[4:]) for line in answer.text.splitlines() if line.startswith("id: ")]

        anonymous = replay()
        assert 0 < len(anonymous) <= 1000 and anonymous[-1] == 1200
        assert len(replay(Authorization=f"Bearer {token}")) == 1200
        with client(url) as http:
            for bad in ("²", "-1", "1.5", str(2**63), "x"):  # "²".isdigit() is True
                refused = http.get("/api/events", headers={"Last-Event-ID": bad.encode("latin-1")})
                assert refused.status_code == 400, bad
                assert _errors(refused)[0]["field"] == "Last-Event-ID"
            assert http.get("/api/events", params={"after": 2**63}).status_code == 422
            assert http.get("/api/tickets/export").status_code == 401


def _token(person: User) -> str:
    import json

    [entry] = json.loads((person.home / "credentials.json").read_text()).values()
    return str(entry["token"])


def test_event_streams_per_address_are_capped(tmp_path: Path) -> None:
    with served(tmp_path) as url, contextlib.ExitStack() as streams:
        http = streams.enter_context(client(url))
        opened = [streams.enter_context(http.stream("GET", "/api/events")) for _ in range(8)]
        assert all(stream.status_code == 200 for stream in opened)
        refused = http.get("/api/events", params={"follow": "false"})
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        with client(url, "127.0.0.2") as other:
            assert other.get("/api/events", params={"follow": "false"}).status_code == 200
        opened[0].close()
        eventually(
            lambda: http.get("/api/events", params={"follow": "false"}).status_code == 200,
            what="a closed stream to be let go",
        )
