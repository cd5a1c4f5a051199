"""openticket notifications [--follow] [--after N]"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.notification_text import describe
from openticket.terminal import shown

POLL_SECONDS = 1.0
PAGE = 500


def _line(notification: object, as_json: bool) -> str:
    data = render.as_data(notification)
    if as_json:
        return json.dumps(data, ensure_ascii=False)
    when = data["created_at"].replace("T", " ")[:16]
    return shown(f"{data['seq']:>6} {when} {describe(str(data['kind']), data['data'])}")


@command
def notifications(
    cli: Cli,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep waiting for news (Ctrl-C stops).")
    ] = False,
    after: Annotated[int, typer.Option("--after", min=0, help="Only news after this number.")] = 0,
) -> None:
    """Your news: listings your watches asked for, orders that expired or were voided,
    tickets you sold, payouts. One line each; --json: a JSON array, or JSON Lines with
    --follow."""
    api, token = cli.api, cli.token()
    if cli.as_json and not follow:
        found = []
        while batch := api.notifications(token, after=after, limit=PAGE):
            found += batch
            after = batch[-1].seq
        render.print_json(found)
        return
    try:
        while True:
            batch = api.notifications(token, after=after, limit=PAGE)
            for notification in batch:
                sys.stdout.write(_line(notification, cli.as_json) + "\n")
                after = notification.seq
            sys.stdout.flush()
            if not batch and not follow:
                return
            if not batch:
                time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return
