"""openticket waitlist join TICKET_ID | leave TICKET_ID | list"""

from __future__ import annotations

from typing import Annotated

import typer

from openticket.cli import render, render_waiting
from openticket.cli.context import Cli, command

app = typer.Typer(
    help="Stand in line for a reserved ticket: if its order ends unpaid, the first in line "
    "gets it as an order of their own, for OPENTICKET_OFFER_TTL seconds (default 300).",
    short_help="Stand in line for a reserved ticket.",
    no_args_is_help=True,
)

TicketId = Annotated[str, typer.Argument(metavar="TICKET_ID", help="The reserved ticket.")]


@app.command()
@command
def join(cli: Cli, ticket_id: TicketId) -> None:
    """Join the ticket's line (exit 5 if it is not reserved by someone else)."""
    entry = cli.api.join_waitlist(cli.token(), ticket_id)
    render.print_json(entry) if cli.as_json else render_waiting.waitlist([entry])


@app.command()
@command
def leave(cli: Cli, ticket_id: TicketId) -> None:
    """Leave the ticket's line; an offer you hold goes to the next in line."""
    entry = cli.api.leave_waitlist(cli.token(), ticket_id)
    render.answer(entry, cli.as_json, f"Left the waitlist of ticket {ticket_id}")


@app.command("list")
@command
def list_entries(cli: Cli) -> None:
    """Your lines, newest first: your place in each, and the offers you hold."""
    found = cli.api.waitlist(cli.token())
    render.print_json(found) if cli.as_json else render_waiting.waitlist(found)
