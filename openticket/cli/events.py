"""openticket events tail"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.terminal import shown

app = typer.Typer(help="The marketplace's event log.", no_args_is_help=True)

POLL_SECONDS = 0.5


def _line(event: object, as_json: bool) -> str:
    data = render.as_data(event)
    if as_json:
        return json.dumps(data, ensure_ascii=False)
    fields = " ".join(
        f"{key}={value}" for key, value in data["data"].items() if not isinstance(value, dict)
    )
    return shown(f"{data['seq']:>6} {data['occurred_at']} {data['subject']:<20} {fields}")


@app.command()
@command
def tail(
    cli: Cli,
    follow: Annotated[
        bool, typer.Option("--follow/--no-follow", help="Keep waiting for new events.")
    ] = True,
    after: Annotated[
        int | None,
        typer.Option("--after", help="Start after this sequence number (default: the last 10)."),
    ] = None,
) -> None:
    """Print the marketplace's events.

    One line each; JSON Lines with --json."""
    api = cli.api
    token = cli.optional_token()  # a server replays more to the signed-in
    position = max(api.last_event_seq() - 10, 0) if after is None else after
    try:
        while True:
            batch = api.events(after=position, limit=500, token=token)
            for event in batch:
                sys.stdout.write(_line(event, cli.as_json) + "\n")
                position = event.seq
            sys.stdout.flush()
            if not follow and len(batch) < 500:
                return
            if not batch:
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return
