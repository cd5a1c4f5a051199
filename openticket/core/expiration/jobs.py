"""The functions APScheduler stores references to ("module:function"): jobs in a persistent
store cannot hold closures, so the running scheduler registers what firing means here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

JOB_REF = "openticket.core.expiration.jobs:fire_due"

log = logging.getLogger("openticket.expiration")

_fire_due: Callable[[datetime], None] | None = None


def register(fire_due_until: Callable[[datetime], None] | None) -> None:
    global _fire_due
    _fire_due = fire_due_until


def fire_due(until: str) -> None:
    """The job of one second: every order whose window ended by `until` (ISO 8601)."""
    if _fire_due is None:
        log.warning("expirations due by %s fired with no marketplace attached", until)
        return
    _fire_due(datetime.fromisoformat(until))
