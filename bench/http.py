"""Reservations per second against a running server: N concurrent clients race to reserve
tickets from a pool; p50/p99 latency; a check that no ticket got two live orders; next to the
same server's GET /healthz throughput as the framework's baseline.

    python bench/http.py [--url http://127.0.0.1:8000] [--clients 64] [--tickets 2000]

Without --url it starts `openticket serve` on a free loopback port with a fresh database.
"""

from __future__ import annotations

import sys

# This file is named as the issue asks, which shadows the standard library's `http` package
# when run as a script: take this folder off the import path before anything imports it.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx


@contextlib.contextmanager
def served() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = shutil.which("openticket") or str(Path(sys.executable).parent / "openticket")
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTICKET_")}
        env["OPENTICKET_HOME"] = tmp
        server = subprocess.Popen(
            [script, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def signup(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(
        "/api/users/signup", json={"email": email, "password": "bench password"}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def healthz_rate(client: httpx.AsyncClient, clients: int, requests: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            (await client.get("/healthz")).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(worker(requests // clients) for _ in range(clients)))
    return (requests // clients * clients) / (time.perf_counter() - started)


async def run(url: str, clients: int, tickets: int) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        tag = uuid.uuid4().hex[:8]
        seller = await signup(client, f"seller-{tag}@example.com")
        buyers = [await signup(client, f"buyer{n}-{tag}@example.com") for n in range(clients)]
        pool = []
        for n in range(tickets):
            created = await client.post(
                "/api/tickets", json={"title": f"Seat {n}", "price": "10"}, headers=seller
            )
            pool.append(created.json()["id"])

        latencies: list[float] = []
        won: list[str] = []
        conflicts = 0

        async def buyer(headers: dict[str, str], offset: int) -> None:
            nonlocal conflicts
            # Every client walks the whole pool from its own offset: they collide constantly.
            for i in range(len(pool)):
                ticket = pool[(offset + i) % len(pool)]
                started = time.perf_counter()
                response = await client.post(
                    "/api/orders", json={"ticket_id": ticket}, headers=headers
                )
                latencies.append(time.perf_counter() - started)
                if response.status_code == 201:
                    won.append(ticket)
                elif response.status_code == 409:
                    conflicts += 1
                else:
                    raise SystemExit(f"unexpected {response.status_code}: {response.text}")
                if len(won) >= len(pool):
                    return

        started = time.perf_counter()
        await asyncio.gather(*(buyer(h, n * len(pool) // clients) for n, h in enumerate(buyers)))
        elapsed = time.perf_counter() - started
        doubles = [t for t, count in Counter(won).items() if count > 1]
        baseline = await healthz_rate(client, clients, 4000)
    print(f"clients                 : {clients}, tickets in the pool: {tickets}")
    print(f"reservations            : {len(won)} won, {conflicts} refused (409) in {elapsed:.1f} s")
    print(f"reservations/s          : {len(won) / elapsed:10.0f}  (goal 500)")
    print(f"requests/s (all POSTs)  : {len(latencies) / elapsed:10.0f}")
    print(
        f"latency p50 / p99 (ms)  : {percentile(latencies, 0.5) * 1000:7.1f} / "
        f"{percentile(latencies, 0.99) * 1000:.1f}  (goal p99 < 100)"
    )
    print(f"GET /healthz baseline/s : {baseline:10.0f}")
    print(f"tickets with two orders : {len(doubles)}")
    if doubles:
        raise SystemExit("double booking!")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args.clients, args.tickets))
    else:
        with served() as url:
            asyncio.run(run(url, args.clients, args.tickets))


if __name__ == "__main__":
    main()
