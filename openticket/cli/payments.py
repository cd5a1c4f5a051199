"""openticket pay, and openticket payments reconcile"""

from __future__ import annotations

import webbrowser
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.core.errors import InProgress

if TYPE_CHECKING:  # the CLI loads no pydantic until a command needs it
    from openticket.app.schemas import ReconcileFinding

app = typer.Typer(help="Check payments against the payment provider.", no_args_is_help=True)

# `pay` when the card asks its holder to authenticate the payment (3-D Secure) first: the
# order stays payable, and the payment completes once that is done.
EXIT_ACTION_REQUIRED = 7
WEB_SCHEMES = ("https", "http")


@command
def pay(
    cli: Cli,
    order_id: Annotated[str, typer.Argument(help="The order to pay for.")],
    card: Annotated[
        str,
        typer.Option(
            "--card", help="Card token, as Stripe's test tokens: tok_visa, tok_chargeDeclined…"
        ),
    ] = "tok_visa",
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Whether the payment went through once the card was authenticated."
        ),
    ] = False,
    web: Annotated[
        bool, typer.Option("--web", help="Open the card's authentication page, if it asks for one.")
    ] = False,
) -> None:
    """Pay for your order. A card that asks for authentication (3-D Secure) prints the page
    to open and exits with 7; then `pay ORDER_ID --check` (or the card again) completes it."""
    if check:
        payment = cli.api.check_payment(cli.token(), order_id)
    else:
        payment = cli.api.pay(cli.token(), order_id, card)
    render.print_json(payment) if cli.as_json else render.payment(payment)
    if payment.status == "requires_action":
        if not cli.as_json:
            render.message(
                "Your card asks you to authenticate this payment: open the page above, then "
                f"run `openticket pay {order_id} --check` before the order expires."
            )
        if web and payment.action_url and urlsplit(payment.action_url).scheme in WEB_SCHEMES:
            webbrowser.open(payment.action_url)  # a web page only, whatever a server sends
        raise typer.Exit(EXIT_ACTION_REQUIRED)
    if payment.status == "pending":  # `--check` of a charge whose outcome is not known yet
        raise typer.Exit(InProgress.exit_code)


@app.command()
@command
def reconcile(
    cli: Cli,
    fix: Annotated[bool, typer.Option("--fix", help="Repair what can be repaired.")] = False,
) -> None:
    """Compare recorded payments with the provider's charges."""
    report = cli.api.reconcile_payments(fix=fix)
    if cli.as_json:
        render.print_json(report)
        return
    render.message(
        f"Checked {report.checked} payments and {report.payouts_checked} payouts, "
        f"{len(report.findings)} findings"
    )
    for finding in report.findings:
        subject = _subject(finding)
        render.message(
            f"- {subject} (order {finding.order_id or 'unknown'}): "
            f"{finding.problem} -> {finding.action}"
        )
    if fix:
        render.message(f"Fixed {report.fixed}")


def _subject(finding: ReconcileFinding) -> str:
    if finding.payout_id:
        return f"payout {finding.payout_id}"
    return finding.payment_id or str(finding.provider_ref)  # its problem says what it is
