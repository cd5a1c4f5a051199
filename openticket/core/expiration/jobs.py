"""The function APScheduler stores a reference to ("module:function"): jobs in a persistent
store cannot hold closures, so the running scheduler registers what firing means here."""

from __future__ import annotations

import logging
from collections.abc import Callable

JOB_REF = "openticket.core.expiration.jobs:fire_expiration"

log = logging.getLogger("openticket.expiration")

_fire: Callable[[str], None] | None = None


def register(fire: Callable[[str], None] | None) -> None:
    global _fire
    _fire = fire


def fire_expiration(order_id: str) -> None:
    if _fire is None:
        log.warning(
            "expiration of %s fired with no marketplace attached; lazy expiry covers it", order_id
        )
        return
    _fire(order_id)
