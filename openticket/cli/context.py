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
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

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


def command(fn: F) -> F:
    """Give `fn(cli, ...)` the common options and the one error-to-exit-code mapping."""
    signature = inspect.signature(fn, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name != "cli"]
    common = [
        inspect.Parameter(
            "as_json",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[
                bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
            ],
        ),
        inspect.Parameter(
            "server",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option("--server", envvar=ENV_SERVER, help="Use the server at this URL."),
            ],
        ),
        inspect.Parameter(
            "db",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    "--db",
                    envvar=ENV_DB,
                    help="SQLAlchemy database URL (default: a SQLite file in OPENTICKET_HOME).",
                ),
            ],
        ),
    ]

    @functools.wraps(fn)
    def wrapper(
        *args: Any, as_json: bool, server: str | None, db: str | None, **kwargs: Any
    ) -> Any:
        logging.basicConfig(
            level=logging.WARNING, stream=sys.stderr, format="openticket: %(message)s"
        )
        cli = Cli(as_json=as_json, server=server, db=db)
        try:
            return fn(cli, *args, **kwargs)
        except DomainError as error:
            raise _fail(cli, error) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as error:
            raise _unexpected(cli, error) from None
        finally:
            cli.close()

    wrapper.__signature__ = signature.replace(parameters=own + common)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in own + common}
    return wrapper  # type: ignore[return-value]
