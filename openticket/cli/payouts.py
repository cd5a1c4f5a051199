"""openticket payouts [list] | onboard [--web] | status"""

from __future__ import annotations

import webbrowser
from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import DB_HELP, JSON_HELP, SERVER_HELP, Cli, command

app = typer.Typer(
    help="What your sales owe you, and the account it is paid to.",
    short_help="Your payouts as a seller.",
    invoke_without_command=True,
)


@app.callback()
def payouts(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    server: Annotated[str | None, typer.Option("--server", help=SERVER_HELP)] = None,
    db: Annotated[str | None, typer.Option("--db", help=DB_HELP)] = None,
) -> None:
    """Your payouts as a seller (`openticket payouts` alone lists them)."""
    ctx.obj = {"as_json": as_json, "server": server, "db": db}  # for the subcommand too
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_payouts, ctx=ctx, as_json=as_json, server=server, db=db)


@app.command("list")
@command
def list_payouts(cli: Cli) -> None:
    """What each sale owes you.

    Gross, the platform's fee, net, and whether it is held, released or reversed (held until
    the ticket is checked in or OPENTICKET_PAYOUT_HOLD passes)."""
    found = cli.api.payouts(cli.token())
    render.print_json(found) if cli.as_json else render.payouts(found)


@app.command()
@command
def onboard(
    cli: Cli,
    web: Annotated[bool, typer.Option("--web", help="Open the onboarding link.")] = False,
) -> None:
    """Make your payout account.

    With Stripe, prints the link to finish onboarding."""
    account = cli.api.onboard(cli.token())
    if cli.as_json:
        render.print_json(account)
    else:
        render.payout_account(account)
    if web and account.onboarding_url:
        webbrowser.open(account.onboarding_url)


@app.command()
@command
def status(cli: Cli) -> None:
    """Your payout account: whether charges and payouts are enabled."""
    account = cli.api.payout_account(cli.token())
    render.print_json(account) if cli.as_json else render.payout_account(account)
