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
import time


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    sender = asyncio.create_task(deliver())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((time.monotonic() + delay, data))
    except ConnectionError:
        pass
    queue.put_nowait((0.0, b""))
    with contextlib.suppress(Exception):
        await sender


async def _serve(listen: int, host: str, port: int, delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w, delay), _pipe(server_r, client_w, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
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
