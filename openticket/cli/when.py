"""Times for people: local, and relative when near ("in 14 min", "3 min ago"). JSON keeps
ISO 8601 UTC; only tables and details use these."""

from __future__ import annotations

from datetime import UTC, datetime

NEAR_SECONDS = 3600


def shown_time(iso: str, now: datetime | None = None) -> str:
    """`iso` (an ISO 8601 UTC time from the Api) as a person reads it at `now`."""
    try:
        at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    local = at.astimezone()
    seconds = (at - now).total_seconds()
    if abs(seconds) >= NEAR_SECONDS:
        same_day = local.date() == now.astimezone().date()
        day = "" if same_day else f"{local:%Y-%m-%d} "
        return f"{day}{local:%H:%M} {_zone(local)}"
    return f"{_relative(seconds)} ({local:%H:%M})"


def _relative(seconds: float) -> str:
    amount = abs(seconds)
    count, unit = (round(amount), "s") if amount < 60 else (int(amount // 60), "min")
    return f"in {count} {unit}" if seconds >= 0 else f"{count} {unit} ago"


def _zone(local: datetime) -> str:
    name = local.tzname() or ""
    return name if name and not name.startswith(("+", "-")) else local.strftime("UTC%z")
