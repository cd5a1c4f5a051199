"""My listings: every status; create one, or edit one that is not reserved or sold."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from openticket.app.schemas import Ticket
from openticket.core.errors import DomainError
from openticket.tui.screens.listing_form import ListingForm
from openticket.tui.session import Session
from openticket.tui.text import cell, plain


class ListingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "New listing"),
        Binding("e", "edit", "Edit"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.listings: list[Ticket] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("My listings", classes="screen-title")
        yield DataTable(id="listings", cursor_type="row", zebra_stripes=True)
        yield Static("", id="listings-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#listings", DataTable)
        for label in ("Title", "Price", "Status"):
            table.add_column(label)
        table.focus()
        self.action_reload()

    @work(thread=True, exclusive=True, group="listings", exit_on_error=False)
    def action_reload(self) -> None:
        try:
            found = self.session.api.list_tickets(self.session.token, mine=True, limit=1000)
        except DomainError as error:
            self.app.call_from_thread(self._say, error.message)
            return
        self.app.call_from_thread(self._show, found)

    def _show(self, found: list[Ticket]) -> None:
        self.listings = found
        table = self.query_one("#listings", DataTable)
        table.clear()
        for ticket in found:
            table.add_row(
                cell(ticket.title),
                cell(f"{ticket.price} {ticket.currency}"),
                cell(ticket.status),
                key=ticket.id,
            )
        self._say(f"{len(found)} listings")

    def _say(self, message: str) -> None:
        self.query_one("#listings-status", Static).update(plain(message))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_edit()

    def action_add(self) -> None:
        self.app.push_screen(ListingForm(self.session), self._saved)

    def action_edit(self) -> None:
        table = self.query_one("#listings", DataTable)
        if not self.listings or table.cursor_row >= len(self.listings):
            return
        ticket = self.listings[table.cursor_row]
        if ticket.status != "available":
            self._say(f"Cannot edit a {ticket.status} ticket")
            return
        self.app.push_screen(ListingForm(self.session, ticket), self._saved)

    def _saved(self, ticket: Ticket | None) -> None:
        if ticket is not None:
            self.app.notify(f"Saved {ticket.title}", markup=False)
        self.action_reload()

    def action_back(self) -> None:
        self.dismiss(None)
