"""`--install-completion SHELL` and `--show-completion SHELL` for bash, zsh and fish: the shell
is named, never guessed from the parent process (which installed bash for a zsh user)."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any

import typer

PROG_NAME = "openticket"
COMPLETE_VAR = "_OPENTICKET_COMPLETE"


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def install(ctx: typer.Context, _param: Any, shell: Shell | None) -> None:
    if shell is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import install as install_script  # Typer's own scripts

    _, path = install_script(shell=shell.value, prog_name=PROG_NAME, complete_var=COMPLETE_VAR)
    typer.echo(f"{shell.value} completion installed in {path}; it works in new shells.")
    raise typer.Exit()


def show(ctx: typer.Context, _param: Any, shell: Shell | None) -> None:
    if shell is None or ctx.resilient_parsing:
        return
    from typer._completion_shared import get_completion_script

    typer.echo(
        get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell.value)
    )
    raise typer.Exit()


def answer_if_asked() -> None:
    """A shell asking for completions sets COMPLETE_VAR; Typer answers it once its completion
    classes are registered (its own --install-completion would register them at start-up)."""
    if os.environ.get(COMPLETE_VAR):
        from typer._completion_classes import completion_init

        completion_init()


def _option(flag: str, callback: Any, help_text: str) -> Any:
    return typer.Option(flag, callback=callback, is_eager=True, expose_value=False, help=help_text)


Install = Annotated[
    Shell | None,
    _option(
        "--install-completion", install, "Install completion for this shell (bash, zsh, fish)."
    ),
]
Show = Annotated[
    Shell | None,
    _option("--show-completion", show, "Print the completion script for this shell."),
]
