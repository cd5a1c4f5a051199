"""Replicas apply an aggregate's versions in order, whatever order a bus delivers them in."""

from __future__ import annotations

from openticket.core.errors import RetryLater


def is_next_version(what: str, incoming: int, known: int | None) -> bool:
    """Whether version `incoming` of `what` comes right after the `known` one (apply it);
    False when it was applied already; RetryLater when it arrived before `what` was seen at
    all, or before an earlier version."""
    if known is None:
        raise RetryLater(f"{what} not seen yet")
    if incoming > known + 1:
        raise RetryLater(f"{what} version {incoming} arrived before {known + 1}")
    return incoming == known + 1
