"""How a consumer applies events, on either bus: claim each in the consumer's inbox (so a
redelivered or retried event is applied once), then run the reaction, in a savepoint of its
own so that a refusal undoes only this consumer's work on this event."""

from __future__ import annotations

import enum
from contextlib import nullcontext

from openticket.core.errors import RetryLater
from openticket.core.events import Envelope
from openticket.core.ports import BatchHandler, Handler
from openticket.store import outbox
from openticket.store.uow import Tx


class Outcome(enum.Enum):
    APPLIED = "applied"
    SEEN = "seen"  # this consumer applied it before
    LATER = "later"  # RetryLater: it came before one it depends on


def apply_one(
    tx: Tx, consumer: str, handler: Handler, envelope: Envelope, *, isolated: bool = True
) -> Outcome:
    """One event for one consumer. A reaction that fails otherwise raises (undone): the
    caller records the failure and offers the event again later. `isolated=False`: no
    savepoint, for a caller that undoes the whole transaction if this raises (RetryLater
    too: its inbox row was written)."""
    try:
        with tx.savepoint() if isolated else nullcontext():
            if not outbox.claim(tx.conn, consumer, envelope.id, tx.now):
                return Outcome.SEEN
            handler(envelope, tx)
        return Outcome.APPLIED
    except RetryLater:
        if not isolated:
            raise
        return Outcome.LATER


def apply_run(
    tx: Tx,
    consumer: str,
    batch_handler: BatchHandler,
    run: list[Envelope],
    *,
    inbox: bool,
    isolated: bool = True,
) -> list[str]:
    """A run of one subject through the consumer's batch handler, in one savepoint; the ids
    of those it applied (not those it had applied before). `inbox=False` when no event of
    the run can have been applied by anyone yet (the in-process bus's first pass): then no
    inbox rows are written. `isolated=False`: no savepoint, for a caller that undoes the
    whole transaction if this raises. Raises what the handler raised (the caller applies
    the run one by one instead)."""
    with tx.savepoint() if isolated else nullcontext():
        if inbox:
            fresh = outbox.claim_many(tx.conn, consumer, [e.id for e in run], tx.now)
            run = [envelope for envelope in run if envelope.id in fresh]
        if run:
            batch_handler(run, tx)
    return [envelope.id for envelope in run]
