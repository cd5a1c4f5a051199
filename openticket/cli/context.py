"""What every command gets: its common options, settings, the Api, and the signed-in token.

`command` adds `--json`, `--server` and `--db` to a command (accepted after the command, as
the contract says) and turns domain errors into the contract's output and exit codes, in this
one place.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, overload

import typer

from openticket.cli.pipes import reader_gone, stdout_reader_gone
from openticket.config import ENV_DB, ENV_SERVER
from openticket.core.errors import DomainError, NotSignedIn, Unavailable

if TYPE_CHECKING:
    from openticket.app.api import Api
    from openticket.config import Settings
    from openticket.credentials import CredentialStore

F = TypeVar("F", bound=Callable[..., Any])


class Cli:
    def __init__(self, *, as_json: bool, server: str | None, db: str | None) -> None:
        self.as_json = as_json
        self._server_option = server
        self._db_option = db
        self._settings: Settings | None = None
        self._api: Api | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from openticket.config import Settings

            self._settings = Settings.from_env(db=self._db_option, server=self._server_option)
        return self._settings

    @property
    def api(self) -> Api:
        if self._api is None:
            if self.settings.server:
                from openticket.client.remote import RemoteApi

                self._api = RemoteApi(self.settings.server)
                return self._api
            from openticket.bootstrap import bootstrap

            self._api = bootstrap(self.settings)
        return self._api

    @property
    def credentials(self) -> CredentialStore:
        from openticket.credentials import CredentialStore

        return CredentialStore(self.settings.home)

    @property
    def target(self) -> str:
        from openticket.credentials import target_key

        return target_key(self.settings.db_url, self.settings.server)

    def token(self) -> str:
        token = self.credentials.token(self.target)
        if token is None:
            raise NotSignedIn("Not signed in: run `openticket auth signin EMAIL` first")
        return token

    def optional_token(self) -> str | None:
        return self.credentials.token(self.target)

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


def _fail(cli: Cli, error: DomainError) -> typer.Exit:
    from openticket.cli import render

    render.error(error, cli.as_json)
    return typer.Exit(error.exit_code)


def _unexpected(cli: Cli, error: Exception) -> typer.Exit:
    if os.environ.get("OPENTICKET_DEBUG"):
        raise error
    from openticket.bootstrap import store_errors

    unavailable, store_error = store_errors()
    if isinstance(error, unavailable):
        return _fail(cli, Unavailable(f"The database is unavailable: {_driver_error(error)}"))
    if isinstance(error, store_error):  # its text would carry the statement's parameters
        error = _driver_error(error)
    return _fail(cli, DomainError(f"Unexpected error ({type(error).__name__}): {error}"))


def _driver_error(error: Exception) -> Exception:
    """The database driver's own error, without the statement and its parameters."""
    orig = getattr(error, "orig", None)
    return orig if isinstance(orig, Exception) else Exception("database error")


JSON_HELP = "Machine-readable JSON on stdout (errors too, on stderr)."
SERVER_HELP = f"Use the server at this URL (env {ENV_SERVER})."
DB_HELP = f"Database URL (env {ENV_DB}; default: a SQLite file in OPENTICKET_HOME)."

# The common options, each a keyword-only parameter a command may offer. They are read again
# from the root command (`openticket --json tickets list`); the environment is read by
# Settings, so that an option given anywhere wins over it.
_COMMON = {
    "as_json": (bool, False, typer.Option("--json", help=JSON_HELP)),
    "server": (str | None, None, typer.Option("--server", help=SERVER_HELP)),
    "db": (str | None, None, typer.Option("--db", help=DB_HELP)),
}
ALL_OPTIONS = ("as_json", "server", "db")


def root_options(ctx: typer.Context, as_json: bool, server: str | None, db: str | None) -> None:
    """Keep the common options given before the command, for the command to find."""
    ctx.obj = {"as_json": as_json, "server": server, "db": db}


def _given(ctx: typer.Context, own: dict[str, Any]) -> dict[str, Any]:
    """The common options: the command's own, else its group's (`payouts --json status`),
    else the root's."""
    found = dict(own)
    parent = ctx.parent
    while parent is not None:
        before = parent.obj if isinstance(parent.obj, dict) else {}
        for name in ("as_json", "server", "db"):
            found[name] = found.get(name) or before.get(name)
        parent = parent.parent
    found["as_json"] = bool(found.get("as_json"))
    return found


@overload
def command(fn: F) -> F: ...


@overload
def command(*, options: tuple[str, ...]) -> Callable[[F], F]: ...


def command(fn: F | None = None, *, options: tuple[str, ...] = ALL_OPTIONS) -> Any:
    """Give `fn(cli, ...)` the common `options` (those it uses: `serve` has no --server) and
    the one error-to-exit-code mapping."""
    if fn is None:
        return functools.partial(command, options=options)
    signature = inspect.signature(fn, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name != "cli"]
    keyword = inspect.Parameter.KEYWORD_ONLY
    common = [
        inspect.Parameter(name, keyword, default=default, annotation=Annotated[kind, option])
        for name, (kind, default, option) in _COMMON.items()
        if name in options
    ]
    context = inspect.Parameter("ctx", keyword, annotation=typer.Context)

    @functools.wraps(fn)
    def wrapper(*args: Any, ctx: typer.Context, **kwargs: Any) -> Any:
        logging.basicConfig(
            level=logging.WARNING, stream=sys.stderr, format="openticket: %(message)s"
        )
        given = _given(ctx, {name: kwargs.pop(name) for name in options})
        cli = Cli(**given)
        try:
            return fn(cli, *args, **kwargs)
        except DomainError as error:
            raise _fail(cli, error) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError as error:
            if not stdout_reader_gone():
                raise _unexpected(cli, error) from None
            raise typer.Exit(reader_gone()) from None
        except Exception as error:
            raise _unexpected(cli, error) from None
        finally:
            cli.close()

    parameters = [*own, context, *common]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper
