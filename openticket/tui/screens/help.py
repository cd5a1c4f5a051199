"""`?`: every key of the screen underneath, and what it does."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
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
        ours: list[str] = []
        toolkit: list[str] = []
        for active in self.under.active_bindings.values():
            binding = active.binding
            if not binding.description:
                continue
            line = f"{self.app.get_key_display(binding):>14}  {binding.description}"
            (ours if _is_ours(active.node, binding) else toolkit).append(line)
        lines = ["Keys", "", *ours]
        if toolkit:
            lines += ["", "In text fields and tables", "", *toolkit]
        lines += ["", "Mouse: click rows and buttons. Press ? or escape to close."]
        with Vertical(id="help"):
            yield Static("\n".join(lines), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


def _is_ours(node: DOMNode, binding: Binding) -> bool:
    """Declared by openticket's own app or screens (not by a Textual widget or base class)."""
    for cls in type(node).__mro__:
        if cls.__module__.startswith("openticket."):
            for declared in cls.__dict__.get("BINDINGS", ()):
                key, action = (
                    (declared.key, declared.action)
                    if isinstance(declared, Binding)
                    else declared[:2]
                )
                if binding.action == action and binding.key in key.split(","):
                    return True
    return False
