"""The marketplace: available tickets, a page at a time, with search, sort and live updates."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual.worker import get_current_worker

from openticket.app.schemas import Order, Ticket
from openticket.core.errors import DomainError, Unavailable
from openticket.core.tickets.model import SORTS
from openticket.tui.screens.base import SessionScreen
from openticket.tui.session import Session
from openticket.tui.text import fill_rows, plain

PAGE_SIZE = 100
SEARCH_DELAY_SECONDS = 0.25
LIVE_POLL_SECONDS = 0.5
TICKET_SUBJECTS = ("ticket:",)


class MarketScreen(SessionScreen[None]):
    class SignInNeeded(Message):
        """Buying needs a signed-in user: the app asks for one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "buy", "Buy"),
        Binding("slash", "search", "Search"),
        Binding("s", "sort", "Sort"),
        Binding("n", "next_page", "Next page", show=False),
        Binding("p", "previous_page", "Previous page", show=False),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.page_offset = 0
        self.sort = "listed"
        self.search_text = ""
        self.shown: list[Ticket] = []
        self.total = 0  # tickets matching the search, on every page
        self.last_seq: int | None = None
        self.offline = False
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="banner")
        with Horizontal(id="search-bar"):
            yield Input(placeholder="Search titles (/)", id="search")
        yield DataTable(id="tickets", cursor_type="row", zebra_stripes=True)
        yield Static("", id="status")
        yield Footer(show_command_palette=False)  # its keys fill 80 columns; ? lists ^p

    def on_mount(self) -> None:
        table = self.query_one("#tickets", DataTable)
        table.add_column("Title", key="title")
        table.add_column("Price", key="price")
        table.add_column("Seller", key="seller")
        table.focus()
        self.reload()
        self.set_interval(LIVE_POLL_SECONDS, self.follow_events)

    # -- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        self._load(self.search_text, self.sort, self.page_offset)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, search: str, sort: str, offset: int) -> None:
        api = self.session.api
        try:
            found = api.list_tickets(
                search=search or None, sort=sort, limit=PAGE_SIZE, offset=offset
            )
            total = api.count_tickets(search=search or None)
        except DomainError as error:
            self.offline = isinstance(error, Unavailable)  # reload once it answers again
            self.app.call_from_thread(self.show_problem, error)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_tickets, found, total)

    def show_tickets(self, found: list[Ticket], total: int) -> None:
        self.shown = found
        self.total = total
        table = self.query_one("#tickets", DataTable)
        selected = self._selected_id()
        rows = ((t.id, (t.title, f"{t.price} {t.currency}", _seller(t))) for t in found)
        fill_rows(table, rows)
        if selected is not None and any(t.id == selected for t in found):
            table.move_cursor(row=table.get_row_index(selected))
        self.query_one("#status", Static).update(plain(self._status()))
        self.query_one("#banner", Static).display = False

    def _status(self) -> str:
        """Where this page is in the whole listing: `Page 2 of 3 · 101-200 of 250 tickets`."""
        pages = max(1, -(-self.total // PAGE_SIZE))
        page = self.page_offset // PAGE_SIZE + 1
        first, last = self.page_offset + 1, self.page_offset + len(self.shown)
        rows = f"{first}-{last} of {self.total}" if self.shown else f"none of {self.total}"
        matching = f" matching {self.search_text!r}" if self.search_text else ""
        return f"Page {page} of {pages} · {rows} tickets{matching} · sorted by {self.sort}"

    def show_problem(self, error: DomainError) -> None:
        banner = self.query_one("#banner", Static)
        if isinstance(error, Unavailable):
            banner.update(plain(f"{error.message} — retrying"))
        else:
            banner.update(plain(error.message))
        banner.display = True

    def _selected_id(self) -> str | None:
        table = self.query_one("#tickets", DataTable)
        if not self.shown or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row].id

    # -- live ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def follow_events(self) -> None:
        """Reload when the marketplace changed: from the store's event log when embedded,
        from /api/events when remote, so changes made by other processes show too."""
        api = self.session.api
        changed = False
        try:
            if self.last_seq is None:  # start from now: the first page is loaded already
                self.last_seq = api.last_event_seq()
            while True:
                found = api.events(after=self.last_seq, limit=500)
                if not found:
                    break
                self.last_seq = found[-1].seq
                changed = changed or any(e.subject.startswith(TICKET_SUBJECTS) for e in found)
        except DomainError as error:
            self.offline = isinstance(error, Unavailable)
            self.app.call_from_thread(self.show_problem, error)
            return
        if changed or self.offline:  # back after an outage: whatever changed meanwhile
            self.offline = False
            self.app.call_from_thread(self.reload)

    # -- actions ------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "search":
            return
        self.search_text = event.value.strip()
        self.page_offset = 0
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY_SECONDS, self.reload)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            self.query_one("#tickets", DataTable).focus()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_buy()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def search_for(self, text: str) -> None:
        """Show the tickets matching `text` (its input changes, which reloads the table)."""
        self.query_one("#search", Input).value = text

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.page_offset = 0
        self.reload()

    def action_next_page(self) -> None:
        if self.page_offset + PAGE_SIZE < self.total:
            self.page_offset += PAGE_SIZE
            self.reload()
        else:
            self.notify("This is the last page.", timeout=3)

    def action_previous_page(self) -> None:
        if self.page_offset:
            self.page_offset = max(0, self.page_offset - PAGE_SIZE)
            self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_buy(self) -> None:
        ticket_id = self._selected_id()
        if ticket_id is None:
            return
        if self.session.token is None:
            self.post_message(self.SignInNeeded())
            return
        self._reserve(ticket_id)

    @work(thread=True, exclusive=True, group="reserve", exit_on_error=False)
    def _reserve(self, ticket_id: str) -> None:
        try:
            order = self.session.api.create_order(self.session.token, ticket_id)
        except DomainError as error:
            self.app.call_from_thread(
                self.app.notify, error.message, severity="error", markup=False
            )
            self.app.call_from_thread(self.reload)
            return
        self.app.call_from_thread(self._open_order, order)

    def _open_order(self, order: Order) -> None:
        from openticket.tui.screens.order import OrderScreen

        self.app.push_screen(OrderScreen(self.session, order), lambda _result: self.reload())


def _seller(ticket: Ticket) -> str:
    """A resale says so: bought by its seller, sold on within the resale cap."""
    return f"{ticket.seller} · resale" if ticket.resale else ticket.seller
