"""The root `openticket` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from openticket import __version__
from openticket.cli import (
    auth,
    codes,
    completion,
    db,
    demo,
    events,
    notifications,
    orders,
    payments,
    payouts,
    serve,
    tickets,
    tui,
    waitlist,
    wallet,
    watch,
    webhooks,
    worker,
)
from openticket.cli.context import DB_HELP, JSON_HELP, SERVER_HELP, root_options
from openticket.cli.pipes import reader_gone, stdout_reader_gone
from openticket.cli.usage import run_for_scripts, wants_json

app = typer.Typer(
    name="openticket",
    help="A ticket marketplace in your terminal: list tickets, reserve one for a limited "
    "window, pay, and see your orders.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,  # ours name the shell: completion.py
    rich_markup_mode=None,  # plain help: it needs no Rich (a third of the start-up of --help)
)
app.add_typer(auth.app, name="auth")
app.add_typer(tickets.app, name="tickets")
app.add_typer(orders.app, name="orders")
app.command("pay")(payments.pay)
app.add_typer(payments.app, name="payments")
app.add_typer(wallet.app, name="wallet")
app.add_typer(payouts.app, name="payouts")
app.add_typer(watch.app, name="watch")
app.add_typer(waitlist.app, name="waitlist")
app.add_typer(webhooks.app, name="webhooks")
app.command("notifications", short_help="Your news: watch hits, sales, payouts.")(
    notifications.notifications
)
app.command("verify")(codes.verify)
app.add_typer(codes.checkin_app, name="checkin")
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
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    server: Annotated[str | None, typer.Option("--server", help=SERVER_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
    install_completion: completion.Install = None,
    show_completion: completion.Show = None,
) -> None:
    """openticket: exit codes 0 ok, 1 invalid input, 2 usage, 3 not signed in / not allowed,
    4 not found, 5 conflict, 6 service unreachable, 7 the card asks for authentication (pay),
    141 the reader of the output went away (`| head`).
    --json, --server and --db go before the command or after it."""
    root_options(ctx, as_json, server, db)


def run() -> None:
    completion.answer_if_asked()
    code: int | str | None
    try:
        if wants_json(sys.argv[1:]):
            code = run_for_scripts(app)
        else:
            try:
                app()
                code = 0
            except SystemExit as done:
                code = done.code
        sys.stdout.flush()  # here, where a reader that went away can still be answered
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        code = reader_gone()
    sys.exit(code)
