"""Usage errors for scripts: under --json a bad flag or a missing argument is the contract's
`{"errors": [...]}` on stderr with exit code 2, not a box drawn for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer

USAGE_EXIT = 2


def wants_json(args: Sequence[str]) -> bool:
    """Whether `--json` is among the options (not after `--`, where it would be an argument)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def _click_errors() -> tuple[type[Exception], type[Exception]]:
    """Click's UsageError and ClickException, wherever this Typer keeps its Click (newer ones
    ship their own copy): both are bases of typer.BadParameter."""
    bases = {cls.__name__: cls for cls in typer.BadParameter.__mro__}
    return bases["UsageError"], bases["ClickException"]


def _write(message: str, field: str | None) -> None:
    body = {"errors": [{"message": message, "field": field}]}
    sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")


def _field(error: Any) -> str | None:
    param = getattr(error, "param", None)
    name = getattr(param, "name", None) or getattr(error, "option_name", None)
    return str(name).lstrip("-") if name else None


def run_for_scripts(app: Callable[..., Any]) -> int:
    """Run `app` with Click's own error printing off; return the exit code."""
    usage_error, click_error = _click_errors()
    try:
        code = app(standalone_mode=False)
    except usage_error as error:
        message = error.format_message()  # type: ignore[attr-defined]
        if "\n" in message:  # a group given no command answers with its whole help
            message = "Missing command."
        _write(message, _field(error))
        return USAGE_EXIT
    except click_error as error:
        _write(error.format_message(), None)  # type: ignore[attr-defined]
        return int(error.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        _write("Aborted", None)
        return 1
    return code if isinstance(code, int) else 0
