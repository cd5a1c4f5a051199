"""`openticket tui` as a person starts it: the console script on a pseudo-terminal, showing the
marketplace of the signed-in user, and `q` ends it with exit code 0."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Callable

from tests.conftest import OPENTICKET, PATIENCE_SECONDS, User, signed_up


def _read_until(leader: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {wanted!r}; saw {seen[-400:]!r}")
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                seen += os.read(leader, 65536)
            except OSError:
                break
    return seen


def test_the_tui_starts_on_a_terminal_and_q_quits(people: Callable[..., User]) -> None:
    seller = people("seller")
    signed_up(seller, "seller@example.com")
    seller.ok("tickets", "create", "--title", "Terminal opera", "--price", "20")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*OPENTICKET, "tui"],
        env=seller.env() | {"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    try:
        screen = _read_until(leader, b"Terminal opera", PATIENCE_SECONDS)
        assert b"signed in as seller@example.com" in screen
        os.write(leader, b"q")
        assert proc.wait(timeout=PATIENCE_SECONDS) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
