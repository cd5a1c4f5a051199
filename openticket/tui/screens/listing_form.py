"""Create or edit a listing; each refusal is shown next to its field."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from openticket.app.schemas import Ticket
from openticket.core.errors import DomainError
from openticket.tui.screens.base import BackOnEscape
from openticket.tui.session import Session
from openticket.tui.text import plain

FIELDS = ("title", "price", "currency")


class ListingForm(ModalScreen[Ticket | None], BackOnEscape[Ticket | None]):
    """Dismissed with the saved ticket, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, session: Session, editing: Ticket | None = None) -> None:
        super().__init__()
        self.session = session
        self.editing = editing

    def compose(self) -> ComposeResult:
        ticket = self.editing
        with Vertical(id="listing-form"):
            yield Static("Edit listing" if ticket else "New listing", classes="screen-title")
            for name, value, hint in (
                ("title", ticket.title if ticket else "", "Title"),
                ("price", ticket.price if ticket else "", "Price, e.g. 25.00"),
                ("currency", ticket.currency if ticket else "", "Currency (default USD)"),
            ):
                yield Input(value, placeholder=hint, id=name)
                yield Static("", id=f"{name}-error", classes="field-error")
            yield Static("", id="form-error", classes="field-error")
            with Horizontal(classes="form-actions"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Back (esc)", id="back")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_back()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        values = {name: self.query_one(f"#{name}", Input).value.strip() for name in FIELDS}
        for name in (*FIELDS, "form"):
            self.query_one(f"#{name}-error", Static).update("")
        self._save(values)

    @work(thread=True, exclusive=True, group="save", exit_on_error=False)
    def _save(self, values: dict[str, str]) -> None:
        api, token = self.session.api, self.session.token
        try:
            if self.editing is None:
                ticket = api.create_ticket(
                    token, values["title"], values["price"], values["currency"] or None
                )
            else:
                ticket = api.update_ticket(
                    token,
                    self.editing.id,
                    title=values["title"] or None,
                    price=values["price"] or None,
                    currency=values["currency"] or None,
                )
        except DomainError as error:
            self.app.call_from_thread(self._refused, error)
            return
        self.app.call_from_thread(self.dismiss, ticket)

    def _refused(self, error: DomainError) -> None:
        for item in error.items:
            where = item.field if item.field in FIELDS else "form"
            self.query_one(f"#{where}-error", Static).update(plain(item.message))
