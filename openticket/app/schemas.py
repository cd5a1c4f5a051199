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
    resale: bool  # listed again by someone who bought it (capped: OPENTICKET_RESALE_CAP_PERCENT)


class WalletEntry(Public):
    """A ticket you hold, with the code that lets you in."""

    ticket: Ticket
    code: str
    paid: str
    currency: str
    acquired_at: str
    checked_in_at: str | None
    resale_cap: str  # the most it may be resold for now (OPENTICKET_RESALE_CAP_PERCENT)


class Payout(Public):
    """What a sale owes its seller: the price (gross) less the platform's fee (net)."""

    id: str
    order_id: str
    ticket_id: str
    gross: str
    fee: str
    net: str
    currency: str
    status: str  # held | released | reversed
    release_at: str  # when it is released (sooner if the ticket is checked in)


class Watch(Public):
    """A saved search: a listing whose title contains `search` (any case), at most
    `max_price` in `currency` when set, is announced to its user once."""

    id: str
    search: str
    max_price: str | None
    currency: str | None
    created_at: str


class WaitlistEntry(Public):
    """Your place in a reserved ticket's line. `status`: waiting (`place` 1 is next), offered
    (the ticket is yours as order `order_id` until `offer_expires_at`: pay it), bought,
    passed (the offer ended unpaid), left, or closed (sold to someone else)."""

    id: str
    ticket_id: str
    title: str
    status: str
    place: int | None
    order_id: str | None
    offer_expires_at: str | None
    joined_at: str


class Webhook(Public):
    """An endpoint that is sent your news (`events`: its kinds). `secret` signs each
    delivery; it is shown once, when the endpoint is added (null after). `status`: active,
    or disabled (`status_reason`: the receiver answered 410 Gone)."""

    id: str
    url: str
    events: list[str]
    status: str
    status_reason: str | None
    created_at: str
    secret: str | None = None


class WebhookDelivery(Public):
    """One piece of news sent to an endpoint: `id` is the receiver's idempotency id (the
    same on every attempt). `status`: pending (tried again at `next_attempt_at`), delivered,
    failed (three days of refusals, or 410), cancelled (its endpoint went first)."""

    id: str
    webhook_id: str
    kind: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None


class Notification(Public):
    seq: int  # its number in your stream, 1, 2, 3… (`--after`, SSE's Last-Event-ID)
    id: str
    kind: str  # watch:matched | order:expired | order:voided | ticket:sold | payout:updated
    data: dict[str, Any]
    created_at: str


class PayoutAccount(Public):
    """Where the seller's payouts go."""

    onboarded: bool  # an account exists (its payouts may still wait for onboarding)
    provider: str
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    onboarding_url: str | None  # where to finish onboarding, while payouts are not enabled
    on_hold: bool = False  # a buyer disputes a charge of one of your sales: nothing is released


class Verification(Public):
    status: str  # valid | revoked | used | invalid
    ticket_id: str | None
    title: str | None
    checked_in_at: str | None


class CheckIn(Public):
    ticket_id: str
    checked_in_at: str


class StaffMember(Public):
    issuer_id: str
    staff: User
    added_at: str


class CodeKey(Public):
    kid: str
    public_key: str  # raw Ed25519, base64url
    created_at: str | None


class CodeKeys(Public):
    keys: list[CodeKey]


class CodeChange(Public):
    """An entry of the revocation list: a holder's code revoked (passed on) or used."""

    position: int  # the event log's: ask for those after it next time
    ticket_id: str
    serial: int
    status: str  # revoked | used
    at: str


class CodeChanges(Public):
    changes: list[CodeChange]
    last: int  # where the next page starts (`after`)
    more: bool  # whether a next page may hold more
    as_of: str  # when the list was read


class Transfer(Public):
    """A change of holder as one side of it sees it."""

    ticket_id: str
    title: str
    kind: str  # sale | gift
    role: str  # "from" (you passed it on) or "to" (you received it)
    other_id: str
    other: str  # the other side's display name
    price: str
    currency: str
    order_id: str | None
    at: str


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
    # status `requires_action`: the page where the buyer authenticates the card (3-D Secure)
    action_url: str | None = None


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
    payout_id: str | None = None  # a seller's payout, rather than a buyer's payment


class ReconcileReport(Public):
    checked: int  # payments
    payouts_checked: int = 0
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
