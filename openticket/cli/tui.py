"""openticket tui"""

from __future__ import annotations

import typer

from openticket.cli.context import Cli, command


@command(options=("server", "db"))
def tui(cli: Cli) -> None:
    """The marketplace as a full-screen terminal app.

    Browse, buy, pay and sell.

    Embedded by default, or against a server with --server; `?` in the app lists the keys."""
    from openticket.tui.app import OpenticketApp
    from openticket.tui.session import Session

    app = OpenticketApp(Session(cli.api, cli.credentials, cli.target))
    app.run()
    if app.return_code:  # it crashed: Textual has printed why
        raise typer.Exit(app.return_code)
