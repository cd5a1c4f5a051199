"""openticket demo"""

from __future__ import annotations

from openticket.cli import render
from openticket.cli.context import Cli, command


@command
def demo(cli: Cli) -> None:
    """Fill an empty marketplace with sample users and tickets."""
    report = cli.api.demo()
    if cli.as_json:
        render.print_json(report)
        return
    emails = ", ".join(user.email for user in report.users)
    render.message(f"Listed {report.tickets} sample tickets from {emails}.")
    render.message(
        f"Sign in as one of them with password {report.password!r}, or sign up yourself:"
        "\n  openticket auth signup you@example.com"
        "\n  openticket tickets list"
    )
