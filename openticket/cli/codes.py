"""openticket verify CODE [--offline | --sync] · openticket checkin CODE ·
checkin staff add|remove|list"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.cli.when import shown_time
from openticket.core.errors import InvalidInput

# Exit codes of a verification: valid 0, revoked/used 5 (a conflict), invalid 1.
_EXIT = {"valid": 0, "revoked": 5, "used": 5, "invalid": 1}
LISTS_FILE = "code-lists.json"


@command
def verify(
    cli: Cli,
    code: Annotated[str | None, typer.Argument(help="The ticket code.")] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Check against the list --sync fetched.")
    ] = False,
    sync: Annotated[
        bool, typer.Option("--sync", help="Fetch the keys and revocation list for --offline.")
    ] = False,
) -> None:
    """Check a ticket code (anyone may).

    Valid (exit 0), revoked or used (5), or invalid (1): signed by another marketplace,
    malformed or tampered with. No sign-in needed."""
    if code is None and not sync:
        raise InvalidInput("Give a ticket code (or --sync to fetch the list)", "code")
    if offline and sync:
        raise InvalidInput("--offline and --sync: sync first, then verify offline", "offline")
    if sync:
        listed = _synced(cli)
        if code is None:
            summary = {
                "keys": len(listed.keys),
                "revoked": len(listed.revoked),
                "used": len(listed.used),
                "as_of": listed.synced_at,
            }
            text = f"Synced {len(listed.keys)} key(s); the list is as of {listed.synced_at}."
            render.answer(summary, cli.as_json, text)
            return
        offline = True
    if offline:
        assert code is not None
        _verify_offline(cli, code)
        return
    assert code is not None
    found = cli.api.verify_code(code)
    render.print_json(found) if cli.as_json else render.verification(found, None)
    raise typer.Exit(_EXIT[found.status])


def _lists(cli: Cli) -> Any:
    from openticket.credentials import PrivateJson

    return PrivateJson(cli.settings.home / LISTS_FILE)


def _synced(cli: Cli) -> Any:
    from openticket.app.offline_codes import OfflineList

    store = _lists(cli)
    data = store.read()
    try:
        listed = OfflineList.from_data(data.get(cli.target, {}))
    except ValueError:  # damaged: fetched again from the start
        listed = OfflineList()
    listed.take_keys(cli.api.code_keys())
    while True:
        page = cli.api.code_changes(listed.last, 5000)
        listed.take_changes(page)
        if not page.more:
            break
    data[cli.target] = listed.to_data()
    store.write(data)
    return listed


def _verify_offline(cli: Cli, code: str) -> None:
    from openticket.app.offline_codes import OfflineList

    data = _lists(cli).read().get(cli.target)
    if not data:
        raise InvalidInput("No list to verify offline with: run `openticket verify --sync` first")
    try:
        listed = OfflineList.from_data(data)
    except ValueError:
        path = cli.settings.home / LISTS_FILE
        raise InvalidInput(
            f"The synced list in {path} is damaged: run `openticket verify --sync` again"
        ) from None
    found = listed.verify(code)
    age = listed.age_seconds(datetime.now(UTC))
    if cli.as_json:
        body = found.model_dump(mode="json")
        extra = {"offline": True, "as_of": listed.synced_at, "list_age_seconds": age}
        render.print_json(body | extra)
    else:
        render.verification(found, age)
    raise typer.Exit(_EXIT[found.status])


class _CheckinGroup(TyperGroup):
    """`checkin CODE` scans; `checkin staff add EMAIL` manages helpers. A code is never a
    subcommand's name, so anything else in first place is taken as one."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not any(arg in self.commands for arg in args) and any(
            not arg.startswith("-") for arg in args
        ):
            args = ["scan", *args]
        return super().parse_args(ctx, args)


checkin_app = typer.Typer(
    cls=_CheckinGroup,
    help="Let ticket holders in at the door: `openticket checkin CODE` checks the ticket of a "
    "code in, once (its issuer and their staff may).",
    short_help="Let ticket holders in at the door.",
    no_args_is_help=True,
)
staff_app = typer.Typer(help="Who may check in the tickets you issued.", no_args_is_help=True)
checkin_app.add_typer(staff_app, name="staff")


@checkin_app.command("scan", hidden=True)
@command
def scan(cli: Cli, code: Annotated[str, typer.Argument(help="The ticket code.")]) -> None:
    """Check in a ticket code: used from now on."""
    done = cli.api.check_in(cli.token(), code)
    render.answer(done, cli.as_json, f"Checked in {done.ticket_id} at {done.checked_in_at}.")


@checkin_app.command("rotate-key")
@command
def rotate_key(
    cli: Cli,
    revoke_all: Annotated[
        bool,
        typer.Option("--revoke-all", help="Also invalidate every code shown so far."),
    ] = False,
) -> None:
    """Make a new key to sign ticket codes with.

    An operator's command, on the local database. Codes signed by the previous keys keep
    verifying, unless --revoke-all (then every holder's code changes: show it again)."""
    rotation = cli.api.rotate_code_key(revoke_all=revoke_all)
    said = "every earlier code is invalid" if revoke_all else "earlier codes still verify"
    render.answer(rotation, cli.as_json, f"New code signing key {rotation.kid}; {said}")


@staff_app.command("add")
@command
def add_staff(
    cli: Cli, email: Annotated[str, typer.Argument(help="The helper's email (an account).")]
) -> None:
    """Let this user check in the tickets you issued."""
    added = cli.api.add_checkin_staff(cli.token(), email)
    render.answer(added, cli.as_json, f"{email} may now check in your tickets.")


@staff_app.command("remove")
@command
def remove_staff(
    cli: Cli, email: Annotated[str, typer.Argument(help="The helper's email (an account).")]
) -> None:
    """Stop this user checking in the tickets you issued (at once)."""
    removed = cli.api.remove_checkin_staff(cli.token(), email)
    render.answer(removed, cli.as_json, f"{removed.email} no longer checks in your tickets.")


@staff_app.command("list")
@command
def list_staff(cli: Cli) -> None:
    """Who may check in the tickets you issued, besides you."""
    staff = cli.api.checkin_staff(cli.token())
    if cli.as_json:
        render.print_json(staff)
    elif not staff:
        render.message("Nobody but you checks in your tickets: `checkin staff add EMAIL`.")
    else:
        rows = [[m.staff.email, m.staff.display_name, shown_time(m.added_at)] for m in staff]
        render.table(None, ["Email", "Name", "Added"], rows)
