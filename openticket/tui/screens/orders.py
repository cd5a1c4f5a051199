"""My orders: history with statuses; an open one can be opened to pay or cancel."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from openticket.app.schemas import Order
from openticket.core.errors import DomainError
from openticket.tui.screens.order import OPEN, OrderScreen
from openticket.tui.session import Session
from openticket.tui.text import cell, plain


class OrdersScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.orders: list[Order] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("My orders", classes="screen-title")
        yield DataTable(id="orders", cursor_type="row", zebra_stripes=True)
        yield Static("", id="orders-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#orders", DataTable)
        for label in ("Ticket", "Price", "Status", "Pay by"):
            table.add_column(label)
        table.focus()
        self.action_reload()

    @work(thread=True, exclusive=True, group="orders", exit_on_error=False)
    def action_reload(self) -> None:
        try:
            found = self.session.api.list_orders(self.session.token)
        except DomainError as error:
            self.app.call_from_thread(self._problem, error.message)
            return
        self.app.call_from_thread(self._show, found)

    def _show(self, found: list[Order]) -> None:
        self.orders = sorted(found, key=lambda order: order.expires_at, reverse=True)
        table = self.query_one("#orders", DataTable)
        table.clear()
        for order in self.orders:
            table.add_row(
                cell(order.ticket.title),
                cell(f"{order.ticket.price} {order.ticket.currency}"),
                cell(order.status),
                cell(order.expires_at[11:19] if order.status in OPEN else ""),
                key=order.id,
            )
        self.query_one("#orders-status", Static).update(f"{len(self.orders)} orders")

    def _problem(self, message: str) -> None:
        self.query_one("#orders-status", Static).update(plain(message))

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one("#orders", DataTable)
        if self.orders and table.cursor_row < len(self.orders):
            order = self.orders[table.cursor_row]
            self.app.push_screen(OrderScreen(self.session, order), self._returned)

    def _returned(self, _result: None) -> None:
        self.action_reload()

    def action_back(self) -> None:
        self.dismiss(None)
