"""The server's bounds as units: throttling windows whose memory stays bounded whatever keys
strangers send, a hashing semaphore, and the body limit per path."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from openticket.core.auth.passwords import BoundedHasher
from openticket.core.errors import TooManyRequests
from openticket.server.body_limit import BodyLimit
from openticket.server.ratelimit import SigninLimiter, SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_refuses_past_its_limit_and_forgets_after_it() -> None:
    clock = Clock()
    window = SlidingWindow(2, 60, clock)
    assert [window.hit("a"), window.hit("a")] == [0, 0]
    assert window.hit("a") == 60
    clock.now += 30
    assert window.hit("a") == 30  # a refused attempt is not counted
    clock.now += 30
    assert window.hit("a") == 0


def test_a_window_keeps_a_bounded_number_of_keys_of_any_size() -> None:
    clock = Clock()
    window = SlidingWindow(5, 60, clock, max_keys=100)
    for n in range(10_000):
        window.hit(f"{n}-" + "x" * 10_000)  # each key 10 kB long
    assert len(window) == 100
    clock.now += 61
    window.hit("fresh")
    assert len(window) == 1  # idle keys are forgotten as soon as they are over


def test_failures_count_per_account_and_address() -> None:
    clock = Clock()
    limiter = SigninLimiter(SlidingWindow(30, 60, clock), SlidingWindow(3, 60, clock))
    for _ in range(3):
        assert limiter.check("Owner@Example.com", "10.0.0.9") == 0
        limiter.failed("owner@example.com", "10.0.0.9")
    assert limiter.check("owner@example.com", "10.0.0.9") > 0
    assert limiter.check("owner@example.com", "10.0.0.1") == 0  # the owner's own address
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in "owner") + "@example.com"
    assert limiter.check(full_width, "10.0.0.9") > 0  # the same account, spelled otherwise


class SlowHasher:
    def __init__(self) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def hash(self, password: str) -> str:
        self.calls += 1
        self.inside.set()
        self.release.wait(60)
        return "hashed"

    def verify(self, password: str, stored_hash: str) -> bool:
        return self.hash(password) == stored_hash

    def verify_nothing(self, password: str) -> None:
        self.hash(password)


def test_hashing_waits_for_a_free_slot_and_gives_up_with_429() -> None:
    inner = SlowHasher()
    hasher = BoundedHasher(inner, slots=1, wait_seconds=0.05)
    first = threading.Thread(target=hasher.hash, args=("one",))
    first.start()
    assert inner.inside.wait(60)
    with pytest.raises(TooManyRequests):
        hasher.verify("two", "hashed")  # the only slot is taken
    inner.release.set()
    first.join(60)
    assert hasher.hash("three") == "hashed" and inner.calls == 2


def _app(limit: int, import_limit: int) -> Callable[..., Any]:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"size": len(await request.body())})

    routes = [Route("/json", echo, methods=["POST"]), Route("/import", echo, methods=["POST"])]
    return BodyLimit(Starlette(routes=routes), limit, {"/import": import_limit})


@pytest.mark.anyio
async def test_the_body_limit_is_per_path_and_counts_chunked_bodies() -> None:
    transport = httpx.ASGITransport(app=_app(10, 100))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.post("/json", content=b"x" * 10)).json() == {"size": 10}
        refused = await http.post("/json", content=b"x" * 11)
        assert refused.status_code == 413
        assert refused.json()["errors"][0]["message"].startswith("The request body is larger")
        assert (await http.post("/import", content=b"x" * 100)).json() == {"size": 100}

        async def chunks() -> Any:
            for _ in range(20):
                yield b"x" * 10

        streamed = await http.post("/import", content=chunks())
        assert streamed.status_code == 413


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
