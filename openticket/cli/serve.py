"""openticket serve"""

from __future__ import annotations

import errno
import socket
import threading
from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.cli.worker import ALL, DOMAINS_HELP, freeze_startup_objects
from openticket.core.errors import InvalidInput


@command(options=("db",))
def serve(
    cli: Cli,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", min=0, max=65535, help="Port to listen on (0: any free one, printed)."
        ),
    ] = 8000,
    domains: Annotated[str, typer.Option("--domains", help=DOMAINS_HELP)] = ALL,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Addresses of the reverse proxies whose X-Forwarded-For/-Proto headers are "
            "trusted (comma-separated, or *). Off by default: the peer's own address counts.",
        ),
    ] = None,
) -> None:
    """Serve the marketplace over HTTP.

    The CLI and TUI reach it with --server URL. It runs the event delivery and the expiration
    scheduler too: it alone is a complete marketplace. It prints the address once it listens
    there; a port in use is an error (exit code 1)."""
    import uvicorn

    from openticket.bootstrap import exposed_files, hosting, shared_windows, stripe_webhooks
    from openticket.server.app import create_app

    listening = listen(host, port)  # before anything starts: a port in use changes nothing
    api = hosting(cli.settings, domains)
    for path in exposed_files(cli.settings):
        render.note(
            f"Warning: {path} can be read by other users of this machine, and it holds "
            f"password hashes or signing keys: chmod 600 {path}"
        )
    stop = threading.Event()
    working = threading.Thread(target=api.runtime.work, args=(stop,), name="openticket-worker")
    working.start()
    try:
        app = create_app(
            api,
            signups_per_minute=cli.settings.signups_per_minute,
            windows=shared_windows(api),
            stripe_webhooks=stripe_webhooks(api, cli.settings.stripe_webhook_secrets),
        )
        freeze_startup_objects()
        config = uvicorn.Config(
            app,
            log_level="warning",
            proxy_headers=forwarded_allow_ips is not None,
            forwarded_allow_ips=forwarded_allow_ips,
        )
        render.note(f"openticket serving on {address(listening)}")
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        stop.set()
        working.join()
        api.close()


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) and listening, or a one-line error saying why not."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as error:
        raise InvalidInput(f"Cannot listen on {host}: {error.strerror}", "host") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise InvalidInput(f"Port {port} on {host} is in use", "port") from None
        raise InvalidInput(f"Cannot listen on {host}:{port}: {error.strerror}", "port") from None
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
