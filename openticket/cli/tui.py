"""openticket tui"""

from __future__ import annotations

from openticket.cli.context import Cli, command


@command
def tui(cli: Cli) -> None:
    """The marketplace as a full-screen terminal app (browse, buy, pay, sell).

    Embedded by default, or against a server with --server; `?` in the app lists the keys."""
    from openticket.tui.app import OpenticketApp
    from openticket.tui.session import Session

    OpenticketApp(Session(cli.api, cli.credentials, cli.target)).run()
