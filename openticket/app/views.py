"""What the Api answers, made from the domains' objects: a domain object never leaves the
application layer, and a table row never reaches a client."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import TypeVar

from openticket.app import schemas
from openticket.core.auth.model import User
from openticket.core.clock import isoformat_utc
from openticket.core.events import Envelope
from openticket.core.orders.model import Order
from openticket.core.payments.model import Payment, Reconciliation
from openticket.core.tickets.import_rules import RowProblem, Tally
from openticket.core.tickets.model import Ticket

S = TypeVar("S", bound=schemas.Public)


def _view(schema: type[S], source: object, **computed: object) -> S:
    """A `schema` whose fields are the `source`'s of the same names, but for the `computed`."""
    copied = _copied_fields(schema, frozenset(computed))
    return schema(**{name: getattr(source, name) for name in copied}, **computed)


@functools.cache
def _copied_fields(schema: type[schemas.Public], computed: frozenset[str]) -> tuple[str, ...]:
    return tuple(name for name in schema.model_fields if name not in computed)


def user_view(user: User) -> schemas.User:
    return schemas.User(id=user.id, email=user.email, display_name=user.shown_name)


def ticket_view(ticket: Ticket, seller: str) -> schemas.Ticket:
    price = ticket.price
    return _view(
        schemas.Ticket,
        ticket,
        price=price.format(),
        currency=price.currency,
        seller=seller,
        resale=ticket.round > 0,
    )


def export_row(ticket: Ticket) -> schemas.ExportRow:
    return schemas.ExportRow(
        title=ticket.title,
        price=ticket.price.format(),
        currency=ticket.price.currency,
        external_id=ticket.external_id or ticket.id,
    )


def order_view(order: Order) -> schemas.Order:
    bought = schemas.OrderTicket(
        id=order.ticket_id,
        title=order.ticket_title,
        price=order.price.format(),
        currency=order.price.currency,
    )
    return _view(schemas.Order, order, expires_at=isoformat_utc(order.expires_at), ticket=bought)


def payment_view(payment: Payment) -> schemas.Payment:
    amount = payment.amount
    return _view(schemas.Payment, payment, amount=amount.format(), currency=amount.currency)


def import_report(tally: Tally, skipped_rows: int) -> schemas.ImportReport:
    problems = sorted(tally.problems, key=lambda p: (p.line, p.item or 0))
    return schemas.ImportReport(
        created=tally.created,
        updated=tally.updated,
        skipped=skipped_rows + tally.unchanged,
        errors=[
            schemas.ImportProblem(line=p.line, field=p.field, message=_placed(p)) for p in problems
        ],
    )


def _placed(problem: RowProblem) -> str:
    """A JSON array's items may share a line: the message says which item it is about."""
    if problem.item is None:
        return problem.message
    return f"item {problem.item}: {problem.message}"


def reconcile_report(found: Reconciliation) -> schemas.ReconcileReport:
    return schemas.ReconcileReport(
        checked=found.checked,
        payouts_checked=found.payouts_checked,
        findings=[schemas.ReconcileFinding(**asdict(finding)) for finding in found.findings],
        fixed=found.fixed,
    )


def event_view(envelope: Envelope) -> schemas.Event:
    return schemas.Event(
        seq=envelope.sequence,
        id=envelope.id,
        subject=envelope.subject,
        occurred_at=isoformat_utc(envelope.occurred_at),
        data=dict(envelope.data),
    )
