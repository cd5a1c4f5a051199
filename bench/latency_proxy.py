"""A loopback TCP proxy that delays every chunk, each direction, by a fixed time: a stand-in
for a database on another machine, so that waiting, not this machine's cores, decides how
fast a scaled-out marketplace goes.

    python bench/latency_proxy.py --listen 15432 --target 127.0.0.1:5432 --delay-ms 2

Order within a connection is kept; throughput is not limited (a chunk waits only its delay).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import cast


class _Side(asyncio.Protocol):
    """One end of a proxied connection: what it receives is written to the other end `delay`
    seconds later, by a timer of the event loop (no task, queue or sleep per chunk: the
    proxy's own CPU competes with the marketplace for this machine's two cores)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self._early: list[bytes] = []  # received before the other end is connected
        self._last_due = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def join(self, peer: _Side) -> None:
        self.peer = peer
        for data in self._early:
            self.data_received(data)
        self._early = []

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            self._early.append(data)
            return
        loop = asyncio.get_running_loop()
        # Strictly later than the previous chunk: timers due at the same instant may run in
        # any order, and a connection's bytes must not.
        due = self._last_due = max(loop.time() + self.delay, self._last_due + 1e-9)
        loop.call_at(due, self.peer.forward, data)

    def forward(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            loop = asyncio.get_running_loop()
            loop.call_at(max(loop.time() + self.delay, self._last_due + 1e-9), self.peer.close)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _serve(listen: int, host: str, port: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    connecting: set[asyncio.Task[None]] = set()

    def accept() -> _Side:
        client = _Side(delay)

        async def connect() -> None:
            try:
                _, server = await loop.create_connection(lambda: _Side(delay), host, port)
            except OSError:
                client.close()
                return
            server.join(client)
            client.join(server)

        task = loop.create_task(connect())
        connecting.add(task)
        task.add_done_callback(connecting.discard)
        return client

    server = await loop.create_server(accept, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", default="127.0.0.1:5432")
    parser.add_argument("--delay-ms", type=float, required=True)
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    try:  # uvloop (with uvicorn's extras) spends less of the machine's CPU on the proxy
        from uvloop import run
    except ImportError:
        from asyncio import run
    with contextlib.suppress(KeyboardInterrupt):
        run(_serve(args.listen, host, int(port), args.delay_ms / 1000))


if __name__ == "__main__":
    main()
