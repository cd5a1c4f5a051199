"""What the TUI shows of stored text: never markup (a title like `[@click=app.quit]` must not
become a link that quits), and never terminal controls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable

from openticket.terminal import shown, shown_lines


def plain(text: str) -> Content:
    """For Static.update and the like: the text exactly as typed (our line breaks kept)."""
    return Content(shown_lines(text))


def cell(text: str) -> Text:
    """For DataTable rows, whose plain strings would be read as markup."""
    return Text(shown(text), end="")


def fill_rows(table: DataTable[Text], rows: Iterable[tuple[str, Sequence[str]]]) -> None:
    """Replace the table's rows with these: (its key, its texts) each, shown as typed."""
    table.clear()
    for key, texts in rows:
        table.add_row(*[cell(text) for text in texts], key=key)
