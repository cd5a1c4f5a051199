"""Notify's reactions: match new and changed listings against the saved searches (each
listing announced once per watch, and once to its user), and tell buyers and sellers what
became of their orders and payouts. Every notification names the event it came from, so a
redelivered event adds nothing."""

from __future__ import annotations

from typing import Any

from openticket.core import events
from openticket.core.errors import RetryLater
from openticket.core.events import Envelope, payload
from openticket.core.ids import new_id
from openticket.core.money import money_from_contract
from openticket.core.notify import repository
from openticket.core.notify.model import (
    ORDER_EXPIRED,
    ORDER_VOIDED,
    PAYOUT_CHANGED,
    TICKET_RECEIVED,
    TICKET_SOLD,
    WAITLIST_OFFER_EXPIRED,
    WAITLIST_OFFERED,
    WATCH_MATCHED,
    Listing,
    OrderParties,
)
from openticket.core.notify.webhooks import service as webhooks
from openticket.core.ports import BatchHandler, Handler, Transaction


def _listing(data: events.TicketChanged) -> Listing:
    return Listing(
        ticket_id=data["id"],
        round=int(data.get("round", 0)),
        title=data["title"],
        price=money_from_contract(data["price"], data["currency"]),
        seller_id=data["user_id"],
        available=data["status"] == "available",
    )


def on_listings(envelopes: list[Envelope], tx: Transaction) -> None:
    """New or changed listings (one, or an import's run) against the watches whose search
    their titles hold."""
    found = [_listing(payload(e, events.TicketChanged)) for e in envelopes]
    listed = [listing for listing in found if listing.available]
    candidates = repository.watches_in_titles(tx, [listing.title for listing in listed])
    for listing, watches in zip(listed, candidates, strict=True):
        for watch in watches:
            if not watch.matches(listing):
                continue
            if not repository.first_hit(tx, watch.id, listing.ticket_id, listing.round):
                continue
            matched: events.WatchMatched = {
                "watch_id": watch.id,
                "ticket_id": listing.ticket_id,
                "round": listing.round,
            }
            tx.emit(events.WATCH_MATCHED, matched)
            news = {
                "watch_id": watch.id,
                "search": watch.search,
                "ticket": {
                    "id": listing.ticket_id,
                    "title": listing.title,
                    "price": listing.price.format(),
                    "currency": listing.price.currency,
                },
            }
            # Once per listing for its user, however many of their watches match it.
            source = f"listing:{listing.ticket_id}:{listing.round}"
            _add(tx, watch.user_id, WATCH_MATCHED, news, source)


def on_listing(envelope: Envelope, tx: Transaction) -> None:
    on_listings([envelope], tx)


def _parties_row(data: events.OrderCreated) -> tuple[str, str, str | None, str, str]:
    ticket = data["ticket"]
    return data["id"], data["user_id"], data.get("seller_id"), ticket["id"], ticket["title"]


def on_order_created(envelope: Envelope, tx: Transaction) -> None:
    repository.record_parties(tx, *_parties_row(payload(envelope, events.OrderCreated)))


def on_orders_created(envelopes: list[Envelope], tx: Transaction) -> None:
    """on_order_created for a run of events (a server's batch of reservations): one insert,
    not a savepoint and an insert for each (with the database 2 ms away the notify worker
    fell seconds behind)."""
    rows = [_parties_row(payload(e, events.OrderCreated)) for e in envelopes]
    repository.record_many_parties(tx, rows)


def _parties(tx: Transaction, order_id: str) -> OrderParties:
    found = repository.parties(tx, order_id)
    if found is None:  # its creation comes first; a broker may hand this one over sooner
        raise RetryLater(f"order {order_id} is not known yet")
    return found


def _tell(
    tx: Transaction, envelope: Envelope, user_id: str, kind: str, data: dict[str, str]
) -> None:
    _add(tx, user_id, kind, data, f"event:{envelope.id}")


def _add(tx: Transaction, user_id: str, kind: str, data: dict[str, Any], source: str) -> None:
    """Into the user's stream, once per source, and to their webhooks that ask for it."""
    notification_id = new_id()
    if repository.add_notification(tx, notification_id, user_id, kind, data, source):
        webhooks.enqueue(tx, user_id, notification_id, kind, data)


def on_order_completed(envelope: Envelope, tx: Transaction) -> None:
    order = _parties(tx, payload(envelope, events.OrderCompleted)["id"])
    if order.seller_id is not None:
        _tell(tx, envelope, order.seller_id, TICKET_SOLD, order.about())


def on_order_cancelled(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCancelled)
    reason = data.get("reason")
    if reason not in ("expired", "refused", "refunded"):
        return  # the buyer's own cancellation is no news to them
    if reason == "expired" and data.get("waitlist_offer"):
        return  # waitlist:offer_expired tells its waiter
    order = _parties(tx, data["id"])
    kind = ORDER_EXPIRED if reason == "expired" else ORDER_VOIDED
    _tell(tx, envelope, order.buyer_id, kind, order.about() | {"reason": str(reason)})


def on_payout_updated(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.PayoutChanged)
    order = _parties(tx, data["order_id"])
    if order.seller_id is not None:
        news = order.about() | {"payout_id": data["id"], "status": data["status"]}
        _tell(tx, envelope, order.seller_id, PAYOUT_CHANGED, news)


def on_waitlist_offer(envelope: Envelope, tx: Transaction) -> None:
    """An offer made to a waiter, or ended unpaid: news for the waiter."""
    data = payload(envelope, events.WaitlistOffer)
    order = _parties(tx, data["order_id"])
    news = order.about() | {"expires_at": data["expires_at"]}
    offered = envelope.subject == events.WAITLIST_OFFERED
    _tell(
        tx, envelope, data["user_id"], WAITLIST_OFFERED if offered else WAITLIST_OFFER_EXPIRED, news
    )


def on_ticket_given(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.TicketGiven)
    news = {"ticket_id": data["id"], "title": data["title"]}
    _tell(tx, envelope, data["to_user_id"], TICKET_RECEIVED, news)


HANDLERS: dict[str, Handler] = {
    events.TICKET_CREATED: on_listing,
    events.TICKET_UPDATED: on_listing,
    events.ORDER_CREATED: on_order_created,
    events.ORDER_COMPLETED: on_order_completed,
    events.ORDER_CANCELLED: on_order_cancelled,
    events.PAYOUT_UPDATED: on_payout_updated,
    events.WAITLIST_OFFERED: on_waitlist_offer,
    events.TICKET_GIVEN: on_ticket_given,
    events.WAITLIST_OFFER_EXPIRED: on_waitlist_offer,
}

BATCH_HANDLERS: dict[str, BatchHandler] = {
    events.ORDER_CREATED: on_orders_created,
    events.TICKET_CREATED: on_listings,
    events.TICKET_UPDATED: on_listings,
}
