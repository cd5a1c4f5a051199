"""Read your writes on a broker: a command that published events waits until the consumers
that handle them, in whichever process, have applied them and what they announced in turn."""

from __future__ import annotations

import logging
import time

from openticket.store import outbox
from openticket.store.uow import UnitOfWork

log = logging.getLogger("openticket.bus")

SETTLE_SECONDS = 10.0
# Consumers usually apply a command's events within milliseconds: look again soon, then
# less and less often.
SETTLE_FIRST_POLL_SECONDS = 0.005
SETTLE_POLL_SECONDS = 0.05
SETTLE_MAX_EVENTS = 1000  # a bulk import does not wait for its replicas


def settle(
    uow: UnitOfWork, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]
) -> None:
    """Wait until every consumer applied these (event id, subject) and what applying
    them emitted in turn (their `caused_by`), not for other commands' events."""
    if len(events) > SETTLE_MAX_EVENTS:
        return
    deadline = time.monotonic() + SETTLE_SECONDS
    pause = SETTLE_FIRST_POLL_SECONDS
    while time.monotonic() < deadline:
        if not waiting(uow, events, consumers_of):
            return
        time.sleep(pause)
        pause = min(pause * 2, SETTLE_POLL_SECONDS)
    log.debug("consumers still catching up after %s s", SETTLE_SECONDS)


def waiting(
    uow: UnitOfWork, events: list[tuple[str, str]], consumers_of: dict[str, set[str]]
) -> bool:
    """Whether some consumer has yet to apply one of these published events, or one of
    those their handlers emitted (a handler's events commit with its inbox row, so the
    next generation is complete once this one is applied)."""
    generation = [(event_id, subject, True) for event_id, subject in events]
    seen = 0
    with uow.read() as tx:
        while generation:
            ids = [event_id for event_id, _, _ in generation]
            done = outbox.processed(tx.conn, ids)
            if any(
                not handed_on or (consumer, event_id) not in done
                for event_id, subject, handed_on in generation
                for consumer in consumers_of.get(subject, ())
            ):
                return True
            seen += len(generation)
            if seen > SETTLE_MAX_EVENTS:
                return False
            generation = outbox.caused_by(tx.conn, ids)
    return False
