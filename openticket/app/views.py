"""What the Api answers, made from the domains' objects: a domain object never leaves the
application layer, and a table row never reaches a client."""

from __future__ import annotations

from dataclasses import asdict

from openticket.app import schemas
from openticket.core.auth.model import User
from openticket.core.clock import isoformat_utc
from openticket.core.events import Envelope
from openticket.core.orders.model import Order
from openticket.core.payments.model import Payment, Reconciliation
from openticket.core.tickets.import_rules import Tally
from openticket.core.tickets.model import Ticket


def user_view(user: User) -> schemas.User:
    return schemas.User(id=user.id, email=user.email)


def ticket_view(ticket: Ticket) -> schemas.Ticket:
    return schemas.Ticket(
        id=ticket.id,
        title=ticket.title,
        price=ticket.price.format(),
        currency=ticket.price.currency,
        owner_id=ticket.owner_id,
        version=ticket.version,
        status=ticket.status,
        order_id=ticket.order_id,
    )


def export_row(ticket: Ticket) -> schemas.ExportRow:
    return schemas.ExportRow(
        title=ticket.title,
        price=ticket.price.format(),
        currency=ticket.price.currency,
        external_id=ticket.external_id or ticket.id,
    )


def order_view(order: Order) -> schemas.Order:
    return schemas.Order(
        id=order.id,
        user_id=order.user_id,
        ticket_id=order.ticket_id,
        status=order.status,
        expires_at=isoformat_utc(order.expires_at),
        ticket=schemas.OrderTicket(
            id=order.ticket_id,
            title=order.ticket_title,
            price=order.price.format(),
            currency=order.price.currency,
        ),
    )


def payment_view(payment: Payment) -> schemas.Payment:
    return schemas.Payment(
        id=payment.id,
        order_id=payment.order_id,
        status=payment.status,
        provider=payment.provider,
        provider_ref=payment.provider_ref,
        amount=payment.amount.format(),
        currency=payment.amount.currency,
    )


def import_report(tally: Tally, skipped_rows: int) -> schemas.ImportReport:
    problems = sorted(tally.problems, key=lambda p: p.line)
    return schemas.ImportReport(
        created=tally.created,
        updated=tally.updated,
        skipped=skipped_rows + tally.unchanged,
        errors=[
            schemas.ImportProblem(line=p.line, field=p.field, message=p.message) for p in problems
        ],
    )


def reconcile_report(found: Reconciliation) -> schemas.ReconcileReport:
    return schemas.ReconcileReport(
        checked=found.checked,
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
