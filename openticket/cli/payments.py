"""openticket pay, and openticket payments reconcile"""

from __future__ import annotations

from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command

app = typer.Typer(help="Check payments against the payment provider.", no_args_is_help=True)


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
) -> None:
    """Pay for your order."""
    payment = cli.api.pay(cli.token(), order_id, card)
    render.print_json(payment) if cli.as_json else render.payment(payment)


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
    render.message(f"Checked {report.checked} payments, {len(report.findings)} findings")
    for finding in report.findings:
        subject = finding.payment_id or f"charge {finding.provider_ref}"
        render.message(
            f"- {subject} (order {finding.order_id or 'unknown'}): "
            f"{finding.problem} -> {finding.action}"
        )
    if fix:
        render.message(f"Fixed {report.fixed}")
