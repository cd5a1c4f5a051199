"""A screen of one table of the signed-in user's things, a status line under it, and Back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from openticket.core.errors import DomainError
from openticket.tui.screens.base import SessionScreen
from openticket.tui.session import Session
from openticket.tui.text import plain

Row = TypeVar("Row")


class TableScreen(SessionScreen[None], Generic[Row]):
    """`fetch` asks the Api for the rows (off the UI thread); `show` puts them in the table."""

    HEADING: ClassVar[str]
    TABLE: ClassVar[str]  # the table's widget id; its status line is "<id>-status"
    COLUMNS: ClassVar[tuple[str, ...]]

    def __init__(
        self,
        session: Session,
        fetch: Callable[[], list[Row]],
        show: Callable[[list[Row]], None],
    ) -> None:
        super().__init__(session)
        self._fetch = fetch
        self._show_rows = show

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.HEADING, classes="screen-title")
        yield DataTable(id=self.TABLE, cursor_type="row", zebra_stripes=True)
        yield Static("", id=f"{self.TABLE}-status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.table()
        for label in self.COLUMNS:
            table.add_column(label)
        table.focus()
        self.action_reload()

    def table(self) -> DataTable[Any]:
        return self.query_one(f"#{self.TABLE}", DataTable)

    def say(self, message: str) -> None:
        """Show `message` (text from anywhere: shown as it is, never as markup)."""
        self.query_one(f"#{self.TABLE}-status", Static).update(plain(message))

    @work(thread=True, exclusive=True, group="table", exit_on_error=False)
    def action_reload(self) -> None:
        try:
            found = self._fetch()
        except DomainError as error:
            self.app.call_from_thread(self.say, error.message)
            return
        self.app.call_from_thread(self._show_rows, found)

    def action_back(self) -> None:
        self.dismiss(None)
