"""Named points at which a test makes this process fail, to prove that no crash or error at
any step loses money, tickets or events (tests/faults/). Off unless armed:

    OPENTICKET_FAULT="pay:charged=kill"           SIGKILL this process the first time there
    OPENTICKET_FAULT="import:batch-written@3=raise"   raise InjectedFault the third time

Several points may be armed at once, comma-separated. In-process tests use `armed(...)`,
and `hooked(name, action)` to run their own action there (e.g. hold a transaction open).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator

ENV_FAULT = "OPENTICKET_FAULT"
KILL, RAISE = "kill", "raise"


class InjectedFault(RuntimeError):
    """The failure a test asked for at a fault point."""


_lock = threading.Lock()
_armed: dict[str, tuple[int, str]] = {}  # point -> (at which passage, action)
_passed: dict[str, int] = {}
_hooks: dict[str, Callable[[], None]] = {}


def _parse(spec: str | None) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        name, _, action = part.strip().partition("=")
        name, _, nth = name.partition("@")
        if action not in (KILL, RAISE) or (nth and not nth.isdigit()):
            raise ValueError(f"{ENV_FAULT}: cannot read {part!r} (want name[@N]=kill|raise)")
        found[name] = (int(nth or 1), action)
    return found


def arm(spec: str | None) -> None:
    with _lock:
        _armed.clear()
        _armed.update(_parse(spec))
        _passed.clear()


@contextlib.contextmanager
def armed(spec: str) -> Iterator[None]:
    arm(spec)
    try:
        yield
    finally:
        arm(None)


@contextlib.contextmanager
def hooked(name: str, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` in whichever thread passes `name`, while the block lasts."""
    _hooks[name] = action
    try:
        yield
    finally:
        _hooks.pop(name, None)


def point(name: str) -> None:
    """A step a crash may interrupt; does nothing unless a test armed or hooked it."""
    if _hooks and (hook := _hooks.get(name)) is not None:
        hook()
    if not _armed:
        return
    with _lock:
        if name not in _armed:
            return
        _passed[name] = _passed.get(name, 0) + 1
        at, action = _armed[name]
        if _passed[name] != at:
            return
    if action == KILL:
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(name)


arm(os.environ.get(ENV_FAULT))
