"""The Api protocol: everything the CLI, TUI and server may ask of the marketplace.

`LocalApi` runs the core in this process; a remote implementation calls a server. Methods that
act for a user take that user's bearer token first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from openticket.app.schemas import (
        AuthSession,
        CheckIn,
        CodeChanges,
        CodeKeys,
        DemoReport,
        Event,
        ExportRow,
        ImportReport,
        KeyRotation,
        Notification,
        Order,
        Payment,
        Payout,
        PayoutAccount,
        ReconcileReport,
        StaffMember,
        Ticket,
        Transfer,
        User,
        Verification,
        WaitlistEntry,
        WalletEntry,
        Watch,
        Webhook,
        WebhookDelivery,
    )
    from openticket.core.errors import DomainError
    from openticket.core.tickets.model import ImportRow


class OrderRequest(NamedTuple):
    """One reservation asked for: whose (bearer token), which ticket, and its idempotency key."""

    token: str | None
    ticket_id: str
    idempotency_key: str | None = None


class Api(Protocol):
    def signup(self, email: str, password: str, display_name: str | None = None) -> AuthSession:
        """A new account; `display_name` is how others see it (default: the email's local
        part)."""

    def signin(self, email: str, password: str) -> AuthSession: ...

    def signout(self, token: str | None, *, everywhere: bool = False) -> None:
        """Revoke this token; `everywhere`: every token of its user."""

    def rotate_signing_key(self, *, revoke_all: bool = False) -> KeyRotation:
        """A new key signs tokens from now on; older ones keep verifying until their tokens
        expire, unless `revoke_all` (every user is signed out). An operator's command."""

    def whoami(self, token: str | None) -> User: ...

    def update_profile(self, token: str | None, *, display_name: str) -> User:
        """Change how others see you."""

    def list_tickets(
        self,
        token: str | None = None,
        *,
        mine: bool = False,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
        sort: str = "listed",
    ) -> list[Ticket]:
        """Available tickets (or your own with `mine`), in `sort` order: listed (oldest
        first), price (by currency, then amount), title, or -price/-title for descending."""

    def count_tickets(
        self, token: str | None = None, *, mine: bool = False, search: str | None = None
    ) -> int:
        """How many tickets `list_tickets` pages through with these filters."""

    def get_ticket(self, ticket_id: str) -> Ticket: ...

    def create_ticket(
        self,
        token: str | None,
        title: str,
        price: str,
        currency: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Ticket:
        """List a ticket. A repeat with the same `idempotency_key` returns the first answer
        instead of listing it twice (so do create_order and pay)."""

    def update_ticket(
        self,
        token: str | None,
        ticket_id: str,
        *,
        title: str | None = None,
        price: str | None = None,
        currency: str | None = None,
    ) -> Ticket: ...

    def import_tickets(
        self,
        token: str | None,
        rows: Iterator[ImportRow],
        *,
        dry_run: bool = False,
        skip_invalid: bool = False,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> ImportReport:
        """List many tickets. `rows` is read once; every row is validated before anything is
        written."""

    def export_tickets(self, token: str | None, *, mine: bool = False) -> Iterator[ExportRow]:
        """Tickets in the form `import_tickets` reads back (available ones, or your own)."""

    def list_orders(self, token: str | None) -> list[Order]: ...

    def create_order(
        self, token: str | None, ticket_id: str, *, idempotency_key: str | None = None
    ) -> Order: ...

    def create_orders(
        self, requests: list[OrderRequest], *, settled: Callable[[], None] | None = None
    ) -> list[Order | DomainError]:
        """`create_order` for each request, in order: its order, or the error that refused
        it (refused ones change nothing). Given `settled`, it returns once they are written
        and calls `settled` when what they emitted is applied everywhere (from another thread,
        or before returning if nothing is left to wait for: a server's writer takes its next
        batch meanwhile); else it returns then."""

    def get_order(self, token: str | None, order_id: str) -> Order: ...

    def cancel_order(self, token: str | None, order_id: str) -> Order: ...

    def pay(
        self, token: str | None, order_id: str, card: str, *, idempotency_key: str | None = None
    ) -> Payment:
        """Charge the card for the order. A card that asks for authentication (3-D Secure)
        gives a payment `requires_action` with the page to open (`action_url`)."""

    def check_payment(self, token: str | None, order_id: str) -> Payment:
        """The order's latest payment, finished if its card's authentication has been."""

    def events(self, after: int = 0, limit: int = 100, *, token: str | None = None) -> list[Event]:
        """The log after position `after`. A server shows anonymous clients the public
        events of a recent window only; `token` signs the request in."""

    def last_event_seq(self) -> int: ...

    def reconcile_payments(self, *, fix: bool = False) -> ReconcileReport: ...

    def demo(self) -> DemoReport: ...

    # -- tickets you hold (app/wallet.py) --------------------------------------------------
    def wallet(self, token: str | None) -> list[WalletEntry]:
        """The tickets you hold, each with its code."""

    def wallet_entry(self, token: str | None, ticket_id: str) -> WalletEntry: ...

    def resell(self, token: str | None, ticket_id: str, price: str) -> Ticket:
        """List a ticket you hold again, at most the resale cap (a share of what you paid)."""

    def cancel_resale(self, token: str | None, ticket_id: str) -> Ticket: ...

    def transfer(self, token: str | None, ticket_id: str, to_email: str) -> Ticket:
        """Give a ticket you hold to another user: they get a new code, yours is revoked."""

    def transfers(self, token: str | None) -> list[Transfer]:
        """Every change of holder you took part in, either side."""

    def verify_code(self, code: str) -> Verification:
        """Anyone may ask whether a code lets its holder in."""

    def check_in(
        self, token: str | None, code: str, *, idempotency_key: str | None = None
    ) -> CheckIn:
        """Mark the ticket of a valid code used (its issuer or their staff), once."""

    def add_checkin_staff(self, token: str | None, email: str) -> StaffMember:
        """Let another user check in the tickets you issued."""

    def remove_checkin_staff(self, token: str | None, email: str) -> User:
        """From now on this user checks in none of your tickets."""

    def checkin_staff(self, token: str | None) -> list[StaffMember]:
        """Who may check in the tickets you issued (besides you), first added first."""

    def rotate_code_key(self, *, revoke_all: bool = False) -> KeyRotation:
        """A new key signs ticket codes from now on; codes signed before keep verifying,
        unless `revoke_all` (every holder's code changes). An operator's command."""

    def code_keys(self) -> CodeKeys:
        """The public keys codes are signed with (for verifying offline)."""

    def code_changes(self, after: int = 0, limit: int = 1000) -> CodeChanges:
        """The revocation list: codes revoked or used, after position `after`."""

    # -- paying sellers (app/payouts.py) ---------------------------------------------------
    def payouts(self, token: str | None) -> list[Payout]:
        """What your sales owe you: held until the ticket is checked in or the hold passes,
        then released to your payout account; reversed if the order is refunded."""

    def payout_account(self, token: str | None) -> PayoutAccount:
        """Where your payouts go, and whether it can take them yet."""

    def onboard(self, token: str | None) -> PayoutAccount:
        """Make your payout account (or bring its state up to date)."""

    def refund_order(self, token: str | None, order_id: str) -> Order:
        """Refund a sale of yours before its ticket is used: the ticket comes back to you."""

    # -- watching and news (app/notify.py) -------------------------------------------------
    def add_watch(
        self,
        token: str | None,
        search: str,
        max_price: str | None = None,
        currency: str | None = None,
    ) -> Watch:
        """Be told once of each listing whose title contains `search` (within a price)."""

    def watches(self, token: str | None) -> list[Watch]: ...

    def remove_watch(self, token: str | None, watch_id: str) -> None: ...

    # -- waitlists (app/waitlist.py) --------------------------------------------------------
    def join_waitlist(self, token: str | None, ticket_id: str) -> WaitlistEntry:
        """Stand in line for a reserved ticket: if its order ends unpaid, the first in line
        is offered it as an order of their own (for OPENTICKET_OFFER_TTL seconds)."""

    def leave_waitlist(self, token: str | None, ticket_id: str) -> WaitlistEntry:
        """Leave the line (an offer you hold goes to the next)."""

    def waitlist(self, token: str | None) -> list[WaitlistEntry]:
        """Your lines, newest first, with your place in each."""

    # -- outgoing webhooks (app/webhooks.py) --------------------------------------------------
    def add_webhook(self, token: str | None, url: str, events: list[str] | None = None) -> Webhook:
        """Send your news (of these kinds, or all) to `url`, signed with the secret returned
        (shown this once)."""

    def webhooks(self, token: str | None) -> list[Webhook]: ...

    def remove_webhook(self, token: str | None, webhook_id: str) -> None: ...

    def webhook_deliveries(
        self, token: str | None, webhook_id: str, limit: int = 100
    ) -> list[WebhookDelivery]:
        """The endpoint's delivery log, newest first."""

    def send_webhooks(self, token: str | None) -> int:
        """Send the deliveries that are due now (embedded use, where no server sends them);
        how many attempts were made."""

    def notifications(
        self, token: str | None, after: int = 0, limit: int = 100
    ) -> list[Notification]:
        """Your news after position `after` (watch hits, orders expired or voided, tickets
        sold, payouts), oldest first."""

    def unread_notifications(self, token: str | None) -> int: ...

    def mark_notifications_read(self, token: str | None, upto: int) -> int:
        """You have read your news up to `upto`; how many are left unread."""

    def close(self) -> None: ...
