"""Orders' reactions: keep the ticket replica in version order, expire, complete on payment."""

from __future__ import annotations

import logging

from openticket.core import events
from openticket.core.events import Envelope, payload
from openticket.core.money import money_from_contract
from openticket.core.orders import repository, service
from openticket.core.orders.model import Order, TicketReplica
from openticket.core.ports import BatchHandler, Handler, Transaction
from openticket.core.versions import is_next_version

log = logging.getLogger("openticket.orders")


def _replica(data: events.TicketChanged) -> TicketReplica:
    return TicketReplica(
        id=data["id"],
        title=data["title"],
        price=money_from_contract(data["price"], data["currency"]),
        owner_id=data["user_id"],
        version=int(data["version"]),
        round=int(data.get("round", 0)),
        # Sold and not listed again: the round's completed order refuses others anyway, but
        # a resale taken off sale has none.
        on_sale=data.get("status") != "sold",
    )


def on_ticket_created(envelope: Envelope, tx: Transaction) -> None:
    data = payload(envelope, events.TicketChanged)
    if repository.get_ticket(tx, data["id"]) is None:
        repository.add_ticket(tx, _replica(data))


def on_tickets_created(envelopes: list[Envelope], tx: Transaction) -> None:
    """on_ticket_created for a run of events (batch imports)."""
    repository.add_new_tickets(tx, [_replica(payload(e, events.TicketChanged)) for e in envelopes])


def _is_next(incoming: TicketReplica, known: TicketReplica | None) -> bool:
    """Whether `incoming` is the version after `known`; False when it was applied already;
    RetryLater when it came before the ticket or an earlier version did."""
    known_version = None if known is None else known.version
    return is_next_version(f"ticket {incoming.id}", incoming.version, known_version)


def on_ticket_updated(envelope: Envelope, tx: Transaction) -> None:
    incoming = _replica(payload(envelope, events.TicketChanged))
    if _is_next(incoming, repository.get_ticket(tx, incoming.id, lock=True)):
        repository.save_ticket(tx, incoming)


def on_tickets_updated(envelopes: list[Envelope], tx: Transaction) -> None:
    """on_ticket_updated for a run of events (the locks of a batch of reservations); a ticket
    may come more than once."""
    incoming = [_replica(payload(e, events.TicketChanged)) for e in envelopes]
    known = repository.get_tickets(tx, [ticket.id for ticket in incoming])
    changed: dict[str, TicketReplica] = {}
    for ticket in incoming:
        if _is_next(ticket, known.get(ticket.id)):
            known[ticket.id] = changed[ticket.id] = ticket
    repository.save_tickets(tx, list(changed.values()))


def on_expiration_complete(envelope: Envelope, tx: Transaction) -> None:
    order_id = payload(envelope, events.ExpirationComplete)["order_id"]
    order = service.lock_with_ticket(tx, order_id)
    if order is None:
        raise RuntimeError(f"expired order {order_id} does not exist")
    if order.is_overdue(tx.now):
        service.expire(tx, order)
    # A paid or cancelled order is left alone: a late expiration never cancels a sale.


def on_ticket_order_refused(envelope: Envelope, tx: Transaction) -> None:
    refusal = payload(envelope, events.TicketOrderRefused)
    order = repository.get(tx, refusal["order_id"], lock=True)
    if order is None:
        raise RuntimeError(f"refused order {refusal['order_id']} does not exist")
    if service.refuse(tx, order) is not None:
        log.info("order %s refused: %s", order.id, refusal["reason"])


def on_ticket_sale_refunded(envelope: Envelope, tx: Transaction) -> None:
    refunded = payload(envelope, events.TicketSaleRefunded)
    order = repository.get(tx, refunded["order_id"], lock=True)
    if order is None:
        raise RuntimeError(f"refunded order {refunded['order_id']} does not exist")
    service.refund(tx, order)


def on_payment_started(envelope: Envelope, tx: Transaction) -> None:
    """A card is being charged for the order: it no longer expires until the outcome is
    known (a crash meanwhile is recovered by payments, which drives the attempt again)."""
    attempt = payload(envelope, events.PaymentAttempt)
    order = _paid_order(tx, attempt["order_id"])
    paying = order.paying(int(attempt["attempt"]))
    if paying is not None:
        repository.save_payment_state(tx, paying)


def on_payment_failed(envelope: Envelope, tx: Transaction) -> None:
    """The attempt charged nothing, or waits for its buyer to authenticate the card: the
    order is payable again, and expires at the end of its window (as an unpaid one does)."""
    attempt = payload(envelope, events.PaymentAttempt)
    order = _paid_order(tx, attempt["order_id"])
    payable = order.not_paid(int(attempt["attempt"]))
    if payable is None:
        return
    repository.save_payment_state(tx, payable)
    if payable.is_overdue(tx.now):  # its window ended while the card was tried
        service.expire(tx, payable)


def _paid_order(tx: Transaction, order_id: str) -> Order:
    order = service.lock_with_ticket(tx, order_id)  # it may end, and offer its ticket
    if order is None:
        raise RuntimeError(f"paid order {order_id} does not exist")
    return order


def on_payment_created(envelope: Envelope, tx: Transaction) -> None:
    payment = payload(envelope, events.PaymentMade)
    order = _paid_order(tx, payment["order_id"])
    if order.is_open() and order.is_overdue(envelope.occurred_at):
        # Its window ended before the charge went through (an authentication finished too
        # late): the expiry wins, and payments refunds the charge when it sees it. (When the
        # charge was recorded, not when this handler runs: a worker that lags does not turn
        # a payment made in time into a refund.)
        service.expire(tx, order)
    elif order.is_open():
        service.complete(tx, order, payment["id"])
    else:
        # Cancelled (expired) before the charge landed: payments refunds it when it sees the
        # cancellation, so the buyer is never charged without the ticket.
        log.info("payment %s arrived for %s order %s", payment["id"], order.status, order.id)


BATCH_HANDLERS: dict[str, BatchHandler] = {
    events.TICKET_CREATED: on_tickets_created,
    events.TICKET_UPDATED: on_tickets_updated,
}

HANDLERS: dict[str, Handler] = {
    events.TICKET_CREATED: on_ticket_created,
    events.TICKET_UPDATED: on_ticket_updated,
    events.TICKET_ORDER_REFUSED: on_ticket_order_refused,
    events.TICKET_SALE_REFUNDED: on_ticket_sale_refunded,
    events.EXPIRATION_COMPLETE: on_expiration_complete,
    events.PAYMENT_STARTED: on_payment_started,
    events.PAYMENT_FAILED: on_payment_failed,
    events.PAYMENT_ACTION_REQUIRED: on_payment_failed,
    events.PAYMENT_CREATED: on_payment_created,
}
