"""My orders: history with statuses; an open one can be opened to pay or cancel."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from openticket.app.schemas import Order
from openticket.tui.screens.order import OPEN, OrderScreen
from openticket.tui.screens.table_screen import TableScreen
from openticket.tui.session import Session
from openticket.tui.text import fill_rows


class OrdersScreen(TableScreen[Order]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        Binding("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    HEADING = "My orders"
    TABLE = "orders"
    COLUMNS = ("Ticket", "Price", "Status", "Pay by")

    def __init__(self, session: Session) -> None:
        super().__init__(session, lambda: session.api.list_orders(session.token), self._show)
        self.orders: list[Order] = []

    def _show(self, found: list[Order]) -> None:
        self.orders = sorted(found, key=lambda order: order.expires_at, reverse=True)
        fill_rows(self.table(), ((order.id, _columns(order)) for order in self.orders))
        self.say(f"{len(self.orders)} orders")

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        table = self.table()
        if self.orders and table.cursor_row < len(self.orders):
            order = self.orders[table.cursor_row]
            self.app.push_screen(OrderScreen(self.session, order), self._returned)

    def _returned(self, _result: None) -> None:
        self.action_reload()


def _columns(order: Order) -> tuple[str, ...]:
    bought = order.ticket
    pay_by = order.expires_at[11:19] if order.status in OPEN else ""
    return bought.title, f"{bought.price} {bought.currency}", order.status, pay_by
