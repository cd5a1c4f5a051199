"""What the app's screens share: the session they act for, and Escape to go back."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from openticket.tui.session import Session

Result = TypeVar("Result")


class SessionScreen(Screen[Result]):
    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session


class BackOnEscape(Screen[Result]):
    """Escape closes the screen, answering None to whoever opened it. Textual adds these
    bindings to each subclass's own. Not the first base of a screen: Textual reads default
    CSS along first bases only (a ModalScreen's would be lost)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def action_back(self) -> None:
        self.dismiss(None)
