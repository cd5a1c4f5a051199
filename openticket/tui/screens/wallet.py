"""My tickets: the tickets you hold, each with its code as a QR code; resell one (within the
cap, which is shown) or give it to someone."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Static

from openticket.app.schemas import WalletEntry
from openticket.core.errors import DomainError
from openticket.qr_text import qr_lines
from openticket.tui.screens.base import SessionScreen
from openticket.tui.screens.table_screen import TableScreen
from openticket.tui.session import Session
from openticket.tui.text import fill_rows, plain


def holding_status(entry: WalletEntry) -> str:
    if entry.checked_in_at:
        return "checked in"
    return {"available": "listed for resale", "reserved": "being resold"}.get(
        entry.ticket.status, "held"
    )


class WalletScreen(TableScreen[WalletEntry]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    HEADING = "My tickets"
    TABLE = "wallet"
    COLUMNS = ("Ticket", "Paid", "Status")

    def __init__(self, session: Session) -> None:
        super().__init__(session, lambda: session.api.wallet(session.token), self._show)
        self.entries: list[WalletEntry] = []

    def _show(self, found: list[WalletEntry]) -> None:
        self.entries = found
        rows = (
            (e.ticket.id, (e.ticket.title, f"{e.paid} {e.currency}", holding_status(e)))
            for e in found
        )
        fill_rows(self.table(), rows)
        self.say(f"{len(found)} tickets held" if found else "You hold no tickets yet.")

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.table()
        if self.entries and table.cursor_row < len(self.entries):
            entry = self.entries[table.cursor_row]
            self.app.push_screen(HeldTicketScreen(self.session, entry), self._returned)

    def _returned(self, _result: None) -> None:
        self.action_reload()


class HeldTicketScreen(SessionScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "resell", "Resell"),
        Binding("c", "cancel_resale", "Cancel resale"),
        Binding("t", "transfer", "Give away"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, session: Session, entry: WalletEntry) -> None:
        super().__init__(session)
        self.entry = entry

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="held"):
            yield Static("", id="held-ticket")
            yield Static("", id="held-qr")
            with Vertical(id="held-actions"):
                with Horizontal():
                    yield Static("Resell for ", classes="label")
                    yield Input(placeholder=self.entry.resale_cap, id="resale-price")
                with Horizontal():
                    yield Static("Give to    ", classes="label")
                    yield Input(placeholder="their email", id="gift-to")
            yield Static("", id="held-outcome")
        yield Footer()

    def on_mount(self) -> None:
        self._show(self.entry)

    def _show(self, entry: WalletEntry) -> None:
        self.entry = entry
        ticket = entry.ticket
        lines = [
            f"{ticket.title}",
            f"Paid {entry.paid} {entry.currency} · {holding_status(entry)}",
            f"Resale cap: {entry.resale_cap} {entry.currency}",
            f"Code: {entry.code}",
        ]
        self.query_one("#held-ticket", Static).update(plain("\n".join(lines)))
        self.query_one("#held-qr", Static).update(plain("\n".join(qr_lines(entry.code))))
        self.query_one("#held-actions").display = not entry.checked_in_at
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("resell", "transfer"):
            return not self.entry.checked_in_at and self.entry.ticket.status == "sold"
        if action == "cancel_resale":
            return self.entry.ticket.status == "available"
        return True

    def action_back(self) -> None:
        self.dismiss(None)

    def action_resell(self) -> None:
        self.query_one("#resale-price", Input).focus()

    def action_transfer(self) -> None:
        self.query_one("#gift-to", Input).focus()

    def action_cancel_resale(self) -> None:
        self._act("cancel", "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if event.input.id == "resale-price":
            self._act("resell", value or self.entry.resale_cap)
        elif event.input.id == "gift-to" and value:
            self._act("transfer", value)

    @work(thread=True, exclusive=True, group="held", exit_on_error=False)
    def _act(self, what: str, value: str) -> None:
        api, token, ticket_id = self.session.api, self.session.token, self.entry.ticket.id
        try:
            if what == "resell":
                api.resell(token, ticket_id, value)
                said = f"Listed for resale at {value} {self.entry.currency}."
            elif what == "cancel":
                api.cancel_resale(token, ticket_id)
                said = "Resale cancelled: the ticket is yours, off sale."
            else:
                api.transfer(token, ticket_id, value)
                self.app.call_from_thread(self._outcome, f"Given to {value}.", "success")
                return
            entry = api.wallet_entry(token, ticket_id)
        except DomainError as error:
            self.app.call_from_thread(self._outcome, error.message, "error")
            return
        self.app.call_from_thread(self._show, entry)
        self.app.call_from_thread(self._outcome, said, "success")

    def _outcome(self, text: str, kind: str) -> None:
        outcome = self.query_one("#held-outcome", Static)
        outcome.update(plain(text))
        outcome.set_classes(kind)
