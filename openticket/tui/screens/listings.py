"""My listings: every status, and what each sale owes you (its payout: held, released or
reversed); create one, or edit one that is not reserved or sold."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from openticket.app.schemas import Payout, Ticket
from openticket.tui.screens.listing_form import ListingForm
from openticket.tui.screens.table_screen import TableScreen
from openticket.tui.session import Session
from openticket.tui.text import fill_rows

Listing = tuple[Ticket, str]  # a listing and its payout, as shown


def with_payouts(listings: list[Ticket], payouts: list[Payout]) -> list[Listing]:
    """Each listing with its latest sale's payout ("11.87 USD held"; "" before a sale)."""
    latest: dict[str, Payout] = {}
    for payout in reversed(payouts):  # newest first: the newest wins
        latest[payout.ticket_id] = payout
    shown = {t: f"{p.net} {p.currency} {p.status}" for t, p in latest.items()}
    return [(ticket, shown.get(ticket.id, "")) for ticket in listings]


def payouts_summary(payouts: list[Payout]) -> str:
    """What the seller is owed (held) and was paid (released), per currency."""
    totals: dict[tuple[str, str], Decimal] = {}
    for payout in payouts:
        if payout.status != "reversed":
            key = (payout.status, payout.currency)
            totals[key] = totals.get(key, Decimal(0)) + Decimal(payout.net)
    parts = [f"{total} {currency} {status}" for (status, currency), total in totals.items()]
    return "payouts: " + (", ".join(parts) if parts else "none yet")


class ListingsScreen(TableScreen[Listing]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "New listing"),
        Binding("e", "edit", "Edit"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    HEADING = "My listings"
    TABLE = "listings"
    COLUMNS = ("Title", "Price", "Status", "Payout")

    def __init__(self, session: Session) -> None:
        super().__init__(session, self._fetch_listings, self._show)
        self.listings: list[Ticket] = []
        self._summary = ""

    def _fetch_listings(self) -> list[Listing]:
        found = self.session.api.list_tickets(self.session.token, mine=True, limit=1000)
        payouts = self.session.api.payouts(self.session.token)
        self._summary = payouts_summary(payouts)
        return with_payouts(found, payouts)

    def _show(self, found: list[Listing]) -> None:
        self.listings = [ticket for ticket, _ in found]
        rows = (
            (t.id, (t.title, f"{t.price} {t.currency}", t.status, payout)) for t, payout in found
        )
        fill_rows(self.table(), rows)
        self.say(f"{len(found)} listings · {self._summary}")

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_edit()

    def action_add(self) -> None:
        self.app.push_screen(ListingForm(self.session), self._saved)

    def action_edit(self) -> None:
        table = self.table()
        if not self.listings or table.cursor_row >= len(self.listings):
            return
        ticket = self.listings[table.cursor_row]
        if ticket.status != "available":
            self.say(f"Cannot edit a {ticket.status} ticket")
            return
        self.app.push_screen(ListingForm(self.session, ticket), self._saved)

    def _saved(self, ticket: Ticket | None) -> None:
        if ticket is not None:
            self.app.notify(f"Saved {ticket.title}", markup=False)
        self.action_reload()
