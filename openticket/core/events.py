"""The event contract shared by all domains: subjects, the envelope, and one payload type per
subject (PAYLOADS), which emitters build and handlers read.

Payloads are plain JSON-able dicts. Aggregates that replicate (tickets, orders) carry a
`version` that increases by one on every change; replicas apply versions in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple, TypedDict, TypeVar, cast

from openticket.core.ids import new_id

TICKET_CREATED: Final = "ticket:created"
TICKET_UPDATED: Final = "ticket:updated"
ORDER_CREATED: Final = "order:created"
ORDER_CANCELLED: Final = "order:cancelled"
ORDER_COMPLETED: Final = "order:completed"
EXPIRATION_COMPLETE: Final = "expiration:complete"
PAYMENT_STARTED: Final = "payment:started"  # an attempt is charging: its order waits for it
PAYMENT_FAILED: Final = "payment:failed"  # that attempt charged nothing
# That attempt waits for its buyer to authenticate the card (3-D Secure): its order expires
# meanwhile as an unpaid one does.
PAYMENT_ACTION_REQUIRED: Final = "payment:action_required"
PAYMENT_CREATED: Final = "payment:created"
PAYMENT_REFUNDED: Final = "payment:refunded"
TICKET_TRANSFERRED: Final = "ticket:transferred"  # a new holder: the previous code is revoked
TICKET_CHECKED_IN: Final = "ticket:checked_in"  # its code is used
TICKET_GIVEN: Final = "ticket:given"  # its holder gave it to another user (who is told)
# The tickets domain cannot honour an order: the listing the buyer saw is gone.
TICKET_ORDER_REFUSED: Final = "ticket:order_refused"
TICKET_SALE_REFUNDED: Final = "ticket:sale_refunded"  # its seller undid a sale: back to them
PAYOUT_UPDATED: Final = "payout:updated"  # a seller's payout was made, released or reversed
WATCH_MATCHED: Final = "watch:matched"  # a listing appeared that a saved search asks for
# A ticket's order ended and the ticket went, as an order of their own, to the first in its line.
WAITLIST_OFFERED: Final = "waitlist:offered"
WAITLIST_OFFER_EXPIRED: Final = "waitlist:offer_expired"  # that order's window passed unpaid

EventData = Mapping[str, Any]


class TicketChanged(TypedDict):
    """ticket:created, ticket:updated: the listing as it now is."""

    id: str
    version: int
    title: str
    price: str
    currency: str
    user_id: str  # the seller
    status: str
    order_id: str | None  # the order holding it
    round: int  # sales before this listing (a resale is round 1 or more)


class TicketRef(TypedDict):
    id: str


class OrderTicket(TypedDict):
    id: str
    title: str
    price: str
    currency: str


class OrderCreated(TypedDict):
    id: str
    version: int
    user_id: str  # the buyer
    seller_id: str | None  # whom it pays (absent in events before 0009)
    status: str
    expires_at: str  # ISO 8601, UTC
    ticket: OrderTicket
    round: int  # the listing it buys (TicketChanged.round); absent in events before 0008


class OrderChange(TypedDict):
    id: str
    version: int
    user_id: str
    ticket: TicketRef


class _OfferedTo(TypedDict, total=False):
    # The order its ticket went to straight away: the first in the ticket's waitlist (the
    # ticket is not back on sale in between). Only then.
    offered_to: str
    # It was a waitlist's offer (whose news, when it expires, is waitlist:offer_expired).
    waitlist_offer: bool


class OrderCancelled(OrderChange, _OfferedTo):
    # "cancelled", "expired", "refused" (TICKET_ORDER_REFUSED) or "refunded" (its seller
    # refunded the sale: TICKET_SALE_REFUNDED)
    reason: str


class OrderCompleted(OrderChange):
    payment_id: str


class ExpirationComplete(TypedDict):
    order_id: str


class PaymentAttempt(TypedDict):
    """payment:started, payment:failed: which attempt at paying which order."""

    id: str
    order_id: str
    attempt: int


class PaymentMade(TypedDict):
    id: str
    order_id: str
    amount: str
    currency: str
    provider: str
    provider_ref: str | None


class PaymentRefunded(PaymentMade):
    refund_ref: str
    reason: str


class TicketTransferred(TypedDict):
    """No user ids: the log is readable by every signed-in user, and who holds a ticket is
    the holder's business. Enough for an offline list of revoked codes."""

    id: str  # the ticket
    serial: int  # the new holder's code serial
    revoked_serial: int | None  # the previous holder's (None on the first sale)
    kind: str  # "sale", "gift" or "refund" (a sale undone: back to its seller)


class TicketGiven(TypedDict):
    """Who gave whom a ticket (not public: the HTTP event stream shows listings only)."""

    id: str  # the ticket
    title: str
    from_user_id: str
    to_user_id: str


class TicketCheckedIn(TypedDict):
    id: str
    serial: int
    checked_in_at: str  # ISO 8601, UTC


class TicketOrderRefused(TypedDict):
    id: str  # the ticket
    order_id: str
    reason: str  # why, for people: the listing was withdrawn, sold, relisted or repriced


class TicketSaleRefunded(TypedDict):
    id: str  # the ticket
    order_id: str  # the sale undone


class PayoutChanged(TypedDict):
    """No amounts or user ids: the seller reads their payouts from `payouts list`."""

    id: str
    order_id: str
    status: str  # "held", "released" or "reversed"


class WatchMatched(TypedDict):
    """No user ids nor search text: whose watch it is, and what it asks for, is theirs."""

    watch_id: str
    ticket_id: str
    round: int  # the listing (TicketChanged.round): announced once per watch


class WaitlistOffer(TypedDict):
    """waitlist:offered, waitlist:offer_expired."""

    ticket_id: str
    order_id: str  # the offer: an order of the waiter's own
    user_id: str  # the waiter (as an order's events name its buyer)
    expires_at: str  # ISO 8601 UTC: the offer's end


PAYLOADS: Final[dict[str, type[Mapping[str, Any]]]] = {
    TICKET_CREATED: TicketChanged,
    TICKET_UPDATED: TicketChanged,
    ORDER_CREATED: OrderCreated,
    ORDER_CANCELLED: OrderCancelled,
    ORDER_COMPLETED: OrderCompleted,
    EXPIRATION_COMPLETE: ExpirationComplete,
    PAYMENT_STARTED: PaymentAttempt,
    PAYMENT_FAILED: PaymentAttempt,
    PAYMENT_ACTION_REQUIRED: PaymentAttempt,
    PAYMENT_CREATED: PaymentMade,
    PAYMENT_REFUNDED: PaymentRefunded,
    TICKET_TRANSFERRED: TicketTransferred,
    TICKET_CHECKED_IN: TicketCheckedIn,
    TICKET_GIVEN: TicketGiven,
    TICKET_ORDER_REFUSED: TicketOrderRefused,
    PAYOUT_UPDATED: PayoutChanged,
    TICKET_SALE_REFUNDED: TicketSaleRefunded,
    WATCH_MATCHED: WatchMatched,
    WAITLIST_OFFERED: WaitlistOffer,
    WAITLIST_OFFER_EXPIRED: WaitlistOffer,
}


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


P = TypeVar("P", bound=Mapping[str, Any])


def payload(envelope: Envelope, shape: type[P]) -> P:
    """An event's data as its subject's payload type. Not checked again: the outbox holds
    only what emitters built as that type (tests/integration/test_event_payloads.py)."""
    return cast(P, envelope.data)
