"""openticket worker"""

from __future__ import annotations

import gc
import signal
import threading
from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.config import ALL_DOMAINS

DOMAINS_HELP = (
    "Comma-separated domains this process hosts: auth, tickets, orders, payments, "
    "expiration (all by default; a subset needs OPENTICKET_BUS=nats://…)."
)
ALL = ",".join(ALL_DOMAINS)


def freeze_startup_objects() -> None:
    """Leave what start-up built (modules, the app, compiled statements) out of the garbage
    collector's full passes for the life of this process: each pass would walk them all,
    several times a second under load (docs/performance.md)."""
    gc.collect()
    gc.freeze()


@command(options=("as_json", "db"))  # --json: its errors, for the scripts that start it
def worker(
    cli: Cli,
    domains: Annotated[str, typer.Option("--domains", help=DOMAINS_HELP)] = ALL,
) -> None:
    """Apply some domains' events as they come.

    Runs the expiration scheduler too when `expiration` is one of them, until stopped
    (SIGTERM or Ctrl-C)."""
    from openticket.bootstrap import hosting

    api = hosting(cli.settings, domains, serving=False)
    freeze_startup_objects()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        render.note(f"openticket worker for {domains}")
        api.runtime.work(stop)
    finally:
        api.close()
