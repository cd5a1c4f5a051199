"""The event contract shared by all domains: subjects, the envelope, and payload shapes.

Payloads are plain JSON-able dicts. Aggregates that replicate (tickets, orders) carry a
`version` that increases by one on every change; replicas apply versions in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

from openticket.core.ids import new_id

TICKET_CREATED: Final = "ticket:created"
TICKET_UPDATED: Final = "ticket:updated"
ORDER_CREATED: Final = "order:created"
ORDER_CANCELLED: Final = "order:cancelled"
ORDER_COMPLETED: Final = "order:completed"
EXPIRATION_COMPLETE: Final = "expiration:complete"
PAYMENT_STARTED: Final = "payment:started"  # an attempt is charging: its order waits for it
PAYMENT_FAILED: Final = "payment:failed"  # that attempt charged nothing
PAYMENT_CREATED: Final = "payment:created"
PAYMENT_REFUNDED: Final = "payment:refunded"

EventData = dict[str, Any]


class Envelope(NamedTuple):  # a tuple, not a frozen dataclass: made twice per imported row
    id: str
    subject: str
    occurred_at: datetime
    data: EventData
    sequence: int = 0  # position in the event log; 0 until written to the outbox
    # Delivery passes that left it pending (failed or deferred somewhere): only such an
    # event can have been applied by some of its consumers already.
    attempts: int = 0

    @classmethod
    def new(cls, subject: str, data: EventData, occurred_at: datetime) -> Envelope:
        return cls(id=new_id(), subject=subject, occurred_at=occurred_at, data=data)
