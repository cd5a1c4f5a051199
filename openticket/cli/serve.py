"""openticket serve"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.cli.worker import ALL, DOMAINS_HELP, freeze_startup_objects


@command(options=("db",))
def serve(
    cli: Cli,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
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
    """Serve the marketplace over HTTP (the CLI and TUI reach it with --server URL). Runs the
    event delivery and the expiration scheduler too: it alone is a complete marketplace."""
    import uvicorn

    from openticket.bootstrap import exposed_files, hosting
    from openticket.server.app import create_app

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
        app = create_app(api, signups_per_minute=cli.settings.signups_per_minute)
        freeze_startup_objects()
        render.note(f"openticket serving on http://{host}:{port}")
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=forwarded_allow_ips is not None,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        stop.set()
        working.join()
        api.close()
