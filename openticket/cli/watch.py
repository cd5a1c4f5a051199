"""openticket watch add --search TEXT [--max-price P] [--currency CUR] | list | remove ID"""

from __future__ import annotations

from typing import Annotated

import typer

from openticket.cli import render, render_waiting
from openticket.cli.context import Cli, command

app = typer.Typer(
    help="Saved searches: be told once of each new listing that matches.",
    short_help="Saved searches for new listings.",
    no_args_is_help=True,
)


@app.command()
@command
def add(
    cli: Cli,
    search: Annotated[
        str, typer.Option("--search", help="Words the title must contain (any case).")
    ],
    max_price: Annotated[
        str | None, typer.Option("--max-price", help="At most this price, such as 50.00.")
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option(
            "--currency",
            help="Only listings in this currency (default for a max price: OPENTICKET_CURRENCY).",
        ),
    ] = None,
) -> None:
    """Watch for new listings.

    Each new one that matches (listed, listed again, its price dropped into range, or back
    on sale after an order ended) is news to you once (`openticket notifications`)."""
    watch = cli.api.add_watch(cli.token(), search, max_price, currency)
    render.print_json(watch) if cli.as_json else render_waiting.watches([watch])


@app.command("list")
@command
def list_watches(cli: Cli) -> None:
    """Your saved searches."""
    found = cli.api.watches(cli.token())
    render.print_json(found) if cli.as_json else render_waiting.watches(found)


@app.command()
@command
def remove(
    cli: Cli, watch_id: Annotated[str, typer.Argument(metavar="ID", help="The watch's id.")]
) -> None:
    """Stop watching."""
    cli.api.remove_watch(cli.token(), watch_id)
    render.answer({"removed": watch_id}, cli.as_json, f"Removed watch {watch_id}")
