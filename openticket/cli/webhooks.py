"""openticket webhooks add URL [--events K] | list | remove ID | deliveries ID | send"""

from __future__ import annotations

from typing import Annotated

import typer

from openticket.cli import render, render_waiting
from openticket.cli.context import Cli, command

app = typer.Typer(
    help="Send your news to your own HTTP endpoint: each delivery is a signed JSON POST "
    "(X-Openticket-Signature: t=…,v1=HMAC-SHA256 of 't.body'), tried again for up to 3 days.",
    short_help="Send your news to an HTTP endpoint.",
    no_args_is_help=True,
)

WebhookId = Annotated[str, typer.Argument(metavar="ID", help="The webhook's id.")]


@app.command()
@command
def add(
    cli: Cli,
    url: Annotated[str, typer.Argument(metavar="URL", help="Where to POST (http or https).")],
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            help="Only these kinds (repeat, or comma-separated): watch:matched, "
            "waitlist:offered, waitlist:offer_expired, order:expired, order:voided, "
            "ticket:sold, ticket:received, payout:updated. Default: all.",
        ),
    ] = None,
) -> None:
    """Add an endpoint; its signing secret is shown this once: keep it."""
    webhook = cli.api.add_webhook(cli.token(), url, events)
    if cli.as_json:
        render.print_json(webhook)
        return
    render_waiting.webhooks([webhook])
    render.message(f"Signing secret (shown once): {webhook.secret}")


@app.command("list")
@command
def list_webhooks(cli: Cli) -> None:
    """Your endpoints."""
    found = cli.api.webhooks(cli.token())
    render.print_json(found) if cli.as_json else render_waiting.webhooks(found)


@app.command()
@command
def remove(cli: Cli, webhook_id: WebhookId) -> None:
    """Remove an endpoint (what it has not been sent yet is dropped)."""
    cli.api.remove_webhook(cli.token(), webhook_id)
    render.answer({"removed": webhook_id}, cli.as_json, f"Removed webhook {webhook_id}")


@app.command()
@command
def deliveries(
    cli: Cli,
    webhook_id: WebhookId,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 100,
) -> None:
    """An endpoint's delivery log, newest first."""
    found = cli.api.webhook_deliveries(cli.token(), webhook_id, limit)
    render.print_json(found) if cli.as_json else render_waiting.deliveries(found)


@app.command()
@command
def send(cli: Cli) -> None:
    """Send the deliveries due now (embedded, where no server or worker sends them)."""
    sent = cli.api.send_webhooks(cli.token())
    render.answer({"attempts": sent}, cli.as_json, f"{sent} delivery attempts made")
