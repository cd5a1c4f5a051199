"""openticket tickets list | show | create | update"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Annotated, Any

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.core.errors import InvalidInput

app = typer.Typer(help="Browse the marketplace and manage your listings.", no_args_is_help=True)

TicketId = Annotated[str, typer.Argument(help="The ticket's id.")]


@app.command("list")
@command
def list_tickets(
    cli: Cli,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only your own listings, any status.")
    ] = False,
    search: Annotated[str | None, typer.Option("--search", help="Text in the title.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many (1-1000).")] = 100,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            help="listed (the default: oldest first), price (by currency, then amount), "
            "title; -price and -title descending.",
        ),
    ] = "listed",
) -> None:
    """List tickets for sale (or your own with --mine)."""
    found: Sequence[Any] | None = None
    if not mine:  # the quick path: the store's file read directly, when that answers the same
        from openticket.core.tickets.query import TicketQuery
        from openticket.quick import ticket_listing

        query = TicketQuery(search=search, limit=limit, offset=offset, sort=sort)
        listed = ticket_listing(cli.settings, query)
        found = None if listed is None else [SimpleNamespace(**ticket) for ticket in listed]
    if found is None:
        token = cli.token() if mine else None
        found = cli.api.list_tickets(
            token, mine=mine, search=search, limit=limit, offset=offset, sort=sort
        )
    if cli.as_json:
        render.print_json(found)
    else:
        render.tickets(found, title="Your listings" if mine else "Tickets for sale")


@app.command()
@command
def show(cli: Cli, ticket_id: TicketId) -> None:
    """Show one ticket."""
    ticket = cli.api.get_ticket(ticket_id)
    render.print_json(ticket) if cli.as_json else render.ticket(ticket)


@app.command()
@command
def create(
    cli: Cli,
    title: Annotated[str, typer.Option("--title", help="What the ticket is for.")],
    price: Annotated[str, typer.Option("--price", help="Price in major units, e.g. 12.50.")],
    currency: Annotated[
        str | None,
        typer.Option("--currency", help="ISO 4217 code (default: OPENTICKET_CURRENCY, else USD)."),
    ] = None,
) -> None:
    """List a ticket for sale."""
    ticket = cli.api.create_ticket(cli.token(), title, price, currency)
    render.print_json(ticket) if cli.as_json else render.ticket(ticket)


@app.command()
@command
def update(
    cli: Cli,
    ticket_id: TicketId,
    title: Annotated[str | None, typer.Option("--title", help="New title.")] = None,
    price: Annotated[str | None, typer.Option("--price", help="New price.")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="New currency.")] = None,
) -> None:
    """Change your ticket's title, price or currency.

    Not while it is reserved or sold."""
    ticket = cli.api.update_ticket(
        cli.token(), ticket_id, title=title, price=price, currency=currency
    )
    render.print_json(ticket) if cli.as_json else render.ticket(ticket)


@app.command()
@command
def resell(
    cli: Cli,
    ticket_id: TicketId,
    price: Annotated[
        str | None, typer.Option("--price", help="Your price, at most the resale cap.")
    ] = None,
    cancel: Annotated[bool, typer.Option("--cancel", help="Take your resale off sale.")] = False,
) -> None:
    """Sell a ticket you hold again, within the cap.

    At most OPENTICKET_RESALE_CAP_PERCENT (110 by default) of what you paid. Your code keeps
    working until a buyer pays; then it is revoked."""
    if cancel == (price is not None):
        raise InvalidInput("Give --price P, or --cancel", "price")
    token = cli.token()
    if cancel:
        ticket = cli.api.cancel_resale(token, ticket_id)
    else:
        assert price is not None
        ticket = cli.api.resell(token, ticket_id, price)
    render.print_json(ticket) if cli.as_json else render.ticket(ticket)


@app.command("import")
@command
def import_tickets(
    cli: Cli,
    source: Annotated[str, typer.Argument(help="A CSV, JSON or JSON Lines file, or - for stdin.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, json or jsonl (default: from the file's extension)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Write the good rows, report the bad ones.")
    ] = False,
) -> None:
    """List tickets from a file.

    Columns: title, price, currency (optional), external_id (optional; importing a row with
    the same external_id again updates that listing, and a file `tickets export` wrote
    imports back unchanged)."""
    from openticket.cli import import_reader
    from openticket.cli.progress import import_progress

    import_reader.check_source(source)
    fmt_name = import_reader.detect_format(source, fmt)
    token = cli.token()
    with import_reader.opened(source) as handle, import_progress(enabled=not cli.as_json) as tick:
        report = cli.api.import_tickets(
            token,
            import_reader.read_rows(handle, fmt_name),
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            on_progress=tick,
        )
    refused = bool(report.errors) and not skip_invalid
    render.import_report(report, as_json=cli.as_json, dry_run=dry_run, refused=refused)
    if refused:
        raise typer.Exit(1)


@app.command("export")
@command
def export_tickets(
    cli: Cli,
    mine: Annotated[bool, typer.Option("--mine", help="Your own listings, any status.")] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv (the default), json or jsonl; with --json, jsonl."),
    ] = None,
) -> None:
    """Write tickets to stdout in a form `tickets import` reads back. With --json the rows are
    JSON Lines (one object per line), the form scripts read as they go."""
    from openticket.cli import export_writer
    from openticket.cli.import_reader import detect_format

    fmt_name = detect_format("-", fmt or ("jsonl" if cli.as_json else "csv"))
    if cli.as_json and fmt_name == "csv":
        raise InvalidInput("--json writes JSON Lines: leave out --format csv", "format")
    token = cli.token()
    export_writer.write(cli.api.export_tickets(token, mine=mine), fmt_name)
