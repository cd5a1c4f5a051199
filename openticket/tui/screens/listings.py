"""My listings: every status; create one, or edit one that is not reserved or sold."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from openticket.app.schemas import Ticket
from openticket.tui.screens.listing_form import ListingForm
from openticket.tui.screens.table_screen import TableScreen
from openticket.tui.session import Session
from openticket.tui.text import fill_rows


class ListingsScreen(TableScreen[Ticket]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "New listing"),
        Binding("e", "edit", "Edit"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    HEADING = "My listings"
    TABLE = "listings"
    COLUMNS = ("Title", "Price", "Status")

    def __init__(self, session: Session) -> None:
        super().__init__(
            session,
            lambda: session.api.list_tickets(session.token, mine=True, limit=1000),
            self._show,
        )
        self.listings: list[Ticket] = []

    def _show(self, found: list[Ticket]) -> None:
        self.listings = found
        rows = ((t.id, (t.title, f"{t.price} {t.currency}", t.status)) for t in found)
        fill_rows(self.table(), rows)
        self.say(f"{len(found)} listings")

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
