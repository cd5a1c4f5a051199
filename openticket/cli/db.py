"""openticket db upgrade"""

from __future__ import annotations

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command()
@command
def upgrade(cli: Cli) -> None:
    """Apply schema migrations (the first command on a new database also does)."""
    from openticket.store.db import create_store_engine, redact_url
    from openticket.store.migrate import upgrade as run_upgrade

    engine = create_store_engine(cli.settings.db_url)
    try:
        revision = run_upgrade(engine)
    finally:
        engine.dispose()
    if cli.as_json:
        render.print_json({"revision": revision})
    else:
        render.message(f"{redact_url(cli.settings.db_url)} is at revision {revision}")
