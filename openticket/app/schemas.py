"""The public objects of the contract (CLI `--json` output and HTTP bodies are the same).

Families per resource keep table rows from leaking: only these fields ever leave the core.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class KeyRotation(Public):
    kid: str  # the new signing key's public id
    revoked_all: bool


class User(Public):
    id: str
    email: str
    display_name: str  # how others see the user: chosen, else the email's local part


class AuthSession(Public):
    user: User
    token: str


class Ticket(Public):
    id: str
    title: str
    price: str
    currency: str
    owner_id: str
    version: int
    status: str
    order_id: str | None
    seller: str  # the owner's display name


class TicketCount(Public):
    count: int


class OrderTicket(Public):
    id: str
    title: str
    price: str
    currency: str


class Order(Public):
    id: str
    user_id: str
    ticket_id: str
    status: str
    expires_at: str
    ticket: OrderTicket


class Payment(Public):
    id: str
    order_id: str
    amount: str
    currency: str
    status: str
    provider: str
    provider_ref: str | None


class Event(Public):
    seq: int
    id: str
    subject: str
    occurred_at: str
    data: dict[str, Any]


class ReconcileFinding(Public):
    payment_id: str | None
    order_id: str | None
    provider_ref: str | None
    problem: str
    action: str


class ReconcileReport(Public):
    checked: int
    findings: list[ReconcileFinding]
    fixed: int


class DemoReport(Public):
    users: list[User]
    password: str
    tickets: int


class ImportProblem(Public):
    line: int
    field: str | None
    message: str


class ImportReport(Public):
    created: int
    updated: int
    skipped: int
    errors: list[ImportProblem]


class ExportRow(Public):
    title: str
    price: str
    currency: str
    external_id: str


class ErrorItem(Public):
    message: str
    field: str | None = None


class ErrorBody(Public):
    errors: list[ErrorItem]
