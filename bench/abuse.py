"""What anonymous and careless clients cost a server: latency of /healthz and of a ticket
list while 20 anonymous clients replay the event log of a 20,000-listing marketplace, next to
the same latencies with nobody replaying (the baseline, same run), and the server's memory
while 60 sign-ups arrive at once.

    python bench/abuse.py [--script PATH_TO_openticket]

It starts `openticket serve` on a free loopback port with a fresh SQLite database (sign-up
throttling raised, so that the 60 sign-ups all reach the hashing).
"""

from __future__ import annotations

import sys

# bench/http.py shadows the standard library's `http` package for scripts in this folder.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

SCRIPT = shutil.which("openticket") or str(Path(sys.executable).parent / "openticket")
LISTINGS = 20_000
REPLAYERS = 20
SIGNUPS = 60
SAMPLES = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) // 1024


async def _latency(http: httpx.AsyncClient, path: str) -> tuple[float, float]:
    """p50 and p95 of SAMPLES requests, in milliseconds."""
    taken = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        await http.get(path)
        taken.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.05)
    taken.sort()
    return taken[len(taken) // 2], taken[int(len(taken) * 0.95)]


async def _replay_until(url: str, stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        while not stop.is_set():
            try:
                await http.get("/api/events", params={"after": 0, "follow": "false"})
            except httpx.HTTPError:
                await asyncio.sleep(0.1)


async def measure(url: str, pid: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        for _ in range(600):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        body = {"email": "seller@example.com", "password": "bench password"}
        token = (await http.post("/api/users/signup", json=body)).json()["token"]
        rows = "".join(
            json.dumps({"line": n, "title": f"Seat {n}", "price": "5"}) + "\n"
            for n in range(2, LISTINGS + 2)
        )
        await http.post(
            "/api/tickets/import",
            content=rows.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        )
        idle = {path: await _latency(http, path) for path in ("/healthz", "/api/tickets")}
        stop = asyncio.Event()
        replaying = [asyncio.create_task(_replay_until(url, stop)) for _ in range(REPLAYERS)]
        await asyncio.sleep(1)
        busy = {path: await _latency(http, path) for path in ("/healthz", "/api/tickets")}
        stop.set()
        await asyncio.gather(*replaying)
        print(f"{REPLAYERS} anonymous clients replaying the log of {LISTINGS} listings:")
        for path in idle:
            (i50, i95), (b50, b95) = idle[path], busy[path]
            print(
                f"  {path:<14} p50/p95 ms  idle {i50:7.1f} / {i95:7.1f}   "
                f"replayed {b50:7.1f} / {b95:7.1f}   ratio p95 {b95 / i95:5.2f}"
            )
        before = peak = _rss_mib(pid)

        async def sign_up(n: int) -> None:
            body = {"email": f"user{n}@example.com", "password": "bench password"}
            await http.post("/api/users/signup", json=body)

        started = time.perf_counter()
        signing_up = asyncio.gather(*(sign_up(n) for n in range(SIGNUPS)))
        while not signing_up.done():
            peak = max(peak, _rss_mib(pid))
            await asyncio.sleep(0.05)
        await signing_up
        print(
            f"{SIGNUPS} sign-ups at once: {time.perf_counter() - started:.1f} s, "
            f"server memory {before} MiB -> peak {peak} MiB (+{peak - before})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script", default=SCRIPT, help="the openticket console script")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTICKET_")}
        env.update(
            OPENTICKET_HOME=tmp,
            OPENTICKET_DB=f"sqlite:///{tmp}/bench.db",
            OPENTICKET_SIGNUPS_PER_MINUTE="100000",
        )
        server = subprocess.Popen(
            [args.script, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}", server.pid))
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
