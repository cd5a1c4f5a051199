"""A screen of one table of the signed-in user's things, a status line under it, and Back."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from openticket.tui.session import Session
from openticket.tui.text import plain


class TableScreen(Screen[None]):
    HEADING: ClassVar[str]
    TABLE: ClassVar[str]  # the table's widget id; its status line is "<id>-status"
    COLUMNS: ClassVar[tuple[str, ...]]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

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

    def action_reload(self) -> object:
        """Fetch the rows again (a worker, in each screen)."""
        raise NotImplementedError

    def action_back(self) -> None:
        self.dismiss(None)
