"""openticket orders list | create | show | cancel"""

from __future__ import annotations

from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.cli.when import shown_time

app = typer.Typer(help="Reserve tickets and see your order history.", no_args_is_help=True)

OrderId = Annotated[str, typer.Argument(help="The order's id.")]


@app.command("list")
@command
def list_orders(cli: Cli) -> None:
    """Your orders, newest first, in every status."""
    found = cli.api.list_orders(cli.token())
    render.print_json(found) if cli.as_json else render.orders(found)


@app.command()
@command
def create(
    cli: Cli, ticket_id: Annotated[str, typer.Argument(help="The ticket to reserve.")]
) -> None:
    """Reserve a ticket: it is locked for you until the order expires."""
    order = cli.api.create_order(cli.token(), ticket_id)
    if cli.as_json:
        render.print_json(order)
    else:
        render.order(order)
        render.note(f"Pay by {shown_time(order.expires_at)}: openticket pay {order.id}")


@app.command()
@command
def show(cli: Cli, order_id: OrderId) -> None:
    """Show one of your orders."""
    order = cli.api.get_order(cli.token(), order_id)
    render.print_json(order) if cli.as_json else render.order(order)


@app.command()
@command
def cancel(cli: Cli, order_id: OrderId) -> None:
    """Cancel your unpaid order and release the ticket."""
    order = cli.api.cancel_order(cli.token(), order_id)
    render.print_json(order) if cli.as_json else render.order(order)


@app.command()
@command
def refund(cli: Cli, order_id: OrderId) -> None:
    """Refund a sale of yours, before its ticket is used.

    The buyer gets their money back and their code stops working; the ticket is yours again
    (held, not listed), and its payout is reversed."""
    order = cli.api.refund_order(cli.token(), order_id)
    render.print_json(order) if cli.as_json else render.order(order)
