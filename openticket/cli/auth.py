"""openticket auth signup | signin | signout | whoami | profile"""

from __future__ import annotations

from typing import Annotated

import typer

from openticket.cli import render
from openticket.cli.context import Cli, command
from openticket.config import ENV_PASSWORD

app = typer.Typer(help="Sign up, sign in and out, see who is signed in.", no_args_is_help=True)

Email = Annotated[str, typer.Argument(help="Your email address.")]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar=ENV_PASSWORD,
        help="Password (prompted for when omitted; prefer the prompt or the env var).",
        show_default=False,
    ),
]


Name = Annotated[
    str | None,
    typer.Option("--name", help="How others see you (default: your email's local part)."),
]


def _remember(cli: Cli, session: object) -> None:
    user = session.user  # type: ignore[attr-defined]
    cli.credentials.save(cli.target, session.token, render.as_data(user))  # type: ignore[attr-defined]
    render.answer(user, cli.as_json, f"Signed in as {user.email}")


@app.command()
@command
def signup(cli: Cli, email: Email, password: Password = None, name: Name = None) -> None:
    """Create an account and sign in."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    _remember(cli, cli.api.signup(email, password, name))


@app.command()
@command
def signin(cli: Cli, email: Email, password: Password = None) -> None:
    """Sign in to an existing account."""
    if password is None:
        password = typer.prompt("Password", hide_input=True)
    _remember(cli, cli.api.signin(email, password))


@app.command()
@command
def signout(
    cli: Cli,
    everywhere: Annotated[
        bool,
        typer.Option("--all", help="Revoke every token of your account, on every device."),
    ] = False,
) -> None:
    """Sign out: the token is revoked, not just forgotten here."""
    token = cli.token()
    cli.api.signout(token, everywhere=everywhere)
    cli.credentials.forget(cli.target)
    if cli.as_json:
        render.print_json({})
    else:
        render.message("Signed out everywhere" if everywhere else "Signed out")


@app.command("rotate-key")
@command
def rotate_key(
    cli: Cli,
    revoke_all: Annotated[
        bool,
        typer.Option(
            "--revoke-all", help="Also revoke every token signed so far: everyone signs in again."
        ),
    ] = False,
) -> None:
    """Make a new token signing key.

    An operator's command, on the local database. Tokens signed by the previous keys keep
    working until they expire, unless --revoke-all."""
    rotation = cli.api.rotate_signing_key(revoke_all=revoke_all)
    if cli.as_json:
        render.print_json(rotation)
    elif revoke_all:
        render.message(f"New signing key {rotation.kid}; every earlier token is revoked")
    else:
        render.message(f"New signing key {rotation.kid}; earlier tokens work until they expire")


@app.command()
@command
def whoami(cli: Cli) -> None:
    """Show the signed-in user."""
    user = cli.api.whoami(cli.token())
    render.answer(user, cli.as_json, f"{user.display_name} <{user.email}> ({user.id})")


@app.command()
@command
def profile(
    cli: Cli,
    name: Annotated[str, typer.Option("--name", help="How others see you, e.g. as a seller.")],
) -> None:
    """Change how others see you."""
    user = cli.api.update_profile(cli.token(), display_name=name)
    render.answer(user, cli.as_json, f"Others now see you as {user.display_name}")
