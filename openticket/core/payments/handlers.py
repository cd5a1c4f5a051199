"""Payments' reactions: keep the order replica in version order; a cancellation of an order
that was charged meanwhile marks the charge for refund; a completed order owes its seller a
payout, held until the ticket is checked in or the hold passes, reversed by a refund."""

from __future__ import annotations

from collections.abc import Callable

from openticket.core import events
from openticket.core.clock import parse_isoformat
from openticket.core.events import Envelope, payload
from openticket.core.money import money_from_contract
from openticket.core.payments import repository, service
from openticket.core.payments.model import (
    ORDER_STATUS_CANCELLED,
    ORDER_STATUS_COMPLETE,
    OrderReplica,
)
from openticket.core.payments.payouts import service as payouts
from openticket.core.payments.payouts.model import PayoutTerms
from openticket.core.ports import BatchHandler, Handler, Transaction
from openticket.core.versions import is_next_version


def _replica(data: events.OrderCreated) -> OrderReplica:
    return OrderReplica(
        id=data["id"],
        user_id=data["user_id"],
        price=money_from_contract(data["ticket"]["price"], data["ticket"]["currency"]),
        status=data["status"],
        expires_at=parse_isoformat(data["expires_at"]),
        version=int(data["version"]),
        seller_id=data.get("seller_id"),
        ticket_id=data["ticket"]["id"],
    )


def on_order_created(envelope: Envelope, tx: Transaction) -> None:
    repository.add_order(tx, _replica(payload(envelope, events.OrderCreated)))


def on_orders_created(envelopes: list[Envelope], tx: Transaction) -> None:
    """on_order_created for a run of events (a server's batch of reservations)."""
    repository.add_new_orders(tx, [_replica(payload(e, events.OrderCreated)) for e in envelopes])


def _next_version(tx: Transaction, order_id: str, version: int) -> bool:
    known = repository.get_order(tx, order_id, lock=True)
    return is_next_version(f"order {order_id}", version, None if known is None else known.version)


def on_order_cancelled(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.OrderCancelled)
    if not _next_version(tx, data["id"], int(data["version"])):
        return
    repository.save_order_status(
        tx, data["id"], ORDER_STATUS_CANCELLED, int(data["version"]), data.get("reason")
    )
    service.mark_for_refund(tx, data["id"])
    payouts.on_order_refunded(tx, data["id"])


def _on_order_completed(envelope: Envelope, tx: Transaction, terms: PayoutTerms) -> None:
    data = payload(envelope, events.OrderCompleted)
    if not _next_version(tx, data["id"], int(data["version"])):
        return
    repository.save_order_status(tx, data["id"], ORDER_STATUS_COMPLETE, int(data["version"]), None)
    order = repository.get_order(tx, data["id"])
    assert order is not None  # _next_version saw it
    payouts.on_order_completed(tx, order, terms)


def on_ticket_checked_in(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.TicketCheckedIn)
    payouts.on_checked_in(tx, data["id"], parse_isoformat(data["checked_in_at"]))


def build_handlers(terms: Callable[[], PayoutTerms]) -> dict[str, Handler]:
    """The reactions, with the payout terms read when an order completes (a mistake in a
    setting stops that reaction, with its message in the log, not every command)."""
    return {
        events.ORDER_CREATED: on_order_created,
        events.ORDER_CANCELLED: on_order_cancelled,
        events.ORDER_COMPLETED: lambda envelope, tx: _on_order_completed(envelope, tx, terms()),
        events.TICKET_CHECKED_IN: on_ticket_checked_in,
    }


BATCH_HANDLERS: dict[str, BatchHandler] = {events.ORDER_CREATED: on_orders_created}
