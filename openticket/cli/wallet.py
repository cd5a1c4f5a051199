"""openticket wallet [list] | show | transfer | history"""

from __future__ import annotations

from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import DB_HELP, JSON_HELP, SERVER_HELP, Cli, command

app = typer.Typer(
    help="The tickets you hold: their codes for the door, gifts, and history.",
    short_help="The tickets you hold and their codes.",
    invoke_without_command=True,
)

TicketId = Annotated[str, typer.Argument(help="The ticket's id.")]


@app.callback()
def wallet(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    server: Annotated[str | None, typer.Option("--server", help=SERVER_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
) -> None:
    """The tickets you hold (`openticket wallet` alone lists them)."""
    ctx.obj = {"as_json": as_json, "server": server, "db": db}  # for the subcommand too
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_wallet, ctx=ctx, as_json=as_json, server=server, db=db)


@app.command("list")
@command
def list_wallet(cli: Cli) -> None:
    """The tickets you hold, newest first."""
    found = cli.api.wallet(cli.token())
    render.print_json(found) if cli.as_json else render.wallet(found)


@app.command()
@command
def show(
    cli: Cli,
    ticket_id: TicketId,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="Draw the code as a QR code.")] = True,
) -> None:
    """One ticket you hold, with its code.

    The code is drawn as a QR code too (--no-qr: only the text)."""
    entry = cli.api.wallet_entry(cli.token(), ticket_id)
    render.print_json(entry) if cli.as_json else render.wallet_entry(entry, qr=qr)


@app.command()
@command
def transfer(
    cli: Cli,
    ticket_id: TicketId,
    to: Annotated[str, typer.Option("--to", help="The recipient's email (an account).")],
) -> None:
    """Give a ticket you hold to someone.

    They get a new code; yours stops working."""
    ticket = cli.api.transfer(cli.token(), ticket_id, to)
    if cli.as_json:
        render.print_json(ticket)
    else:
        render.message(f"Transferred {ticket.title} to {to}: your code for it is revoked.")


@app.command()
@command
def history(cli: Cli) -> None:
    """What you bought, sold, gave and were given.

    From whom, to whom, at what price and when."""
    found = cli.api.transfers(cli.token())
    render.print_json(found) if cli.as_json else render.transfers(found)
