"""The root `openticket` command."""

from __future__ import annotations

import typer

from openticket import __version__
from openticket.cli import auth, db, demo, events, orders, payments, serve, tickets, tui, worker

app = typer.Typer(
    name="openticket",
    help="A ticket marketplace in your terminal: list tickets, reserve one for a limited "
    "window, pay, and see your orders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(auth.app, name="auth")
app.add_typer(tickets.app, name="tickets")
app.add_typer(orders.app, name="orders")
app.command("pay")(payments.pay)
app.add_typer(payments.app, name="payments")
app.add_typer(events.app, name="events")
app.add_typer(db.app, name="db")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("tui")(tui.tui)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openticket {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """openticket: exit codes 0 ok, 1 invalid input, 2 usage, 3 not signed in / not allowed,
    4 not found, 5 conflict, 6 service unreachable."""


def run() -> None:
    app()
