"""openticket db upgrade"""

from __future__ import annotations

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command()
@command
def upgrade(cli: Cli) -> None:
    """Apply schema migrations.

    The first command on a new database applies them too."""
    from openticket.bootstrap import upgrade_store

    store, revision = upgrade_store(cli.settings)
    if cli.as_json:
        render.print_json({"revision": revision})
    else:
        render.message(f"{store} is at revision {revision}")
