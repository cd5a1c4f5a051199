"""`?`: every key of the screen underneath, and what it does."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("question_mark", "close", "Close"),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        lines = ["Keys", ""]
        for active in self.under.active_bindings.values():
            binding = active.binding
            if binding.description:
                lines.append(f"{binding.key:>14}  {binding.description}")
        lines += ["", "Mouse: click rows and buttons. Press ? or escape to close."]
        with Vertical(id="help"):
            yield Static("\n".join(lines), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
