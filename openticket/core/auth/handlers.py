"""Auth consumes no events."""

from openticket.store.uow import Handler

HANDLERS: dict[str, Handler] = {}
