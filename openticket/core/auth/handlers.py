"""Auth consumes no events."""

from openticket.core.ports import Handler

HANDLERS: dict[str, Handler] = {}
