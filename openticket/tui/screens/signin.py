"""Sign in or sign up; the session is kept where the CLI keeps it."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from openticket.app.schemas import AuthSession
from openticket.core.errors import DomainError
from openticket.tui.screens.base import BackOnEscape
from openticket.tui.session import Session
from openticket.tui.text import plain


class SignInScreen(ModalScreen[str | None], BackOnEscape[str | None]):
    """Dismissed with the signed-in email, or None when the user backs out."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "sign_up", "Sign up"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical(id="signin"):
            yield Static("Sign in to buy and sell", id="signin-title")
            yield Input(placeholder="Email", id="email")
            yield Input(placeholder="Password", password=True, id="password")
            with Horizontal(id="signin-actions"):
                yield Button("Sign in (enter)", id="sign-in", variant="primary")
                yield Button("Sign up (ctrl+n)", id="sign-up")
            yield Static("", id="signin-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#email", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "email":
            self.query_one("#password", Input).focus()
        else:
            self._submit(sign_up=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._submit(sign_up=event.button.id == "sign-up")

    def action_sign_up(self) -> None:
        self._submit(sign_up=True)

    def _submit(self, *, sign_up: bool) -> None:
        email = self.query_one("#email", Input).value.strip()
        password = self.query_one("#password", Input).value
        self.query_one("#signin-error", Static).update("")
        self._authenticate(email, password, sign_up)

    @work(thread=True, exclusive=True, group="signin", exit_on_error=False)
    def _authenticate(self, email: str, password: str, sign_up: bool) -> None:
        api = self.session.api
        try:
            session = api.signup(email, password) if sign_up else api.signin(email, password)
        except DomainError as error:
            self.app.call_from_thread(self._refused, error)
            return
        self.app.call_from_thread(self._signed_in, session)

    def _refused(self, error: DomainError) -> None:
        self.query_one("#signin-error", Static).update(plain(error.message))

    def _signed_in(self, session: AuthSession) -> None:
        self.session.remember(session)
        self.dismiss(session.user.email)
