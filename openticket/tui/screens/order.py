"""An order: the countdown to the end of its window, paying with a card token, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Header, Input, Static

from openticket.app.schemas import Order
from openticket.core.errors import DomainError
from openticket.tui.screens.base import SessionScreen
from openticket.tui.session import Session
from openticket.tui.text import plain

DEFAULT_CARD = "tok_visa"
TICK_SECONDS = 0.2
OPEN = ("created", "awaiting:payment")


def remaining_text(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))
    return f"{whole // 60:02d}:{whole % 60:02d}"


class OrderScreen(SessionScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pay", "Pay"),
        Binding("c", "cancel_order", "Cancel order"),
        Binding("e", "edit_card", "Card"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, session: Session, order: Order) -> None:
        super().__init__(session)
        self.order = order
        self.expires_at = datetime.fromisoformat(order.expires_at).astimezone(UTC)
        self._checking = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="order"):
            yield Static(plain(self._heading()), id="order-ticket")
            yield Static("", id="countdown")
            with Horizontal(id="card-row"):
                yield Static("Card token ", classes="label")
                yield Input(DEFAULT_CARD, id="card")
            with Horizontal(id="order-actions"):
                yield Button("Pay (p)", id="pay", variant="success")
                yield Button("Cancel order (c)", id="cancel", variant="error")
            yield Static("", id="outcome")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#pay", Button).focus()
        self._set_open(self.order.status in OPEN)
        self._tick()
        self.set_interval(TICK_SECONDS, self._tick)

    def _heading(self) -> str:
        ticket = self.order.ticket
        return f"{ticket.title} — {ticket.price} {ticket.currency}\nOrder {self.order.id}"

    # -- countdown ----------------------------------------------------------------------
    def _tick(self) -> None:
        countdown = self.query_one("#countdown", Static)
        if self.order.status not in OPEN:
            countdown.update(self._ended_text())
            return
        left = (self.expires_at - self.session.clock()).total_seconds()
        countdown.update(f"Reserved for you: {remaining_text(left)} left to pay")
        if left <= 0 and not self._checking:
            self._checking = True
            self._refresh_order()

    def _ended_text(self) -> str:
        status = self.order.status
        if status == "complete":
            return "Paid: the ticket is yours."
        if status == "expired":
            return "This order expired: the ticket is back on sale."
        if status == "refunded":
            return "This order was refunded: the ticket was no longer on sale as reserved."
        return "This order was cancelled."

    @work(thread=True, exclusive=True, group="order", exit_on_error=False)
    def _refresh_order(self) -> None:
        try:
            order = self.session.api.get_order(self.session.token, self.order.id)
        except DomainError as error:
            self.app.call_from_thread(self._outcome, error.message, "error")
            self._checking = False  # the countdown asks again
            return
        self.app.call_from_thread(self._update_order, order)

    def _update_order(self, order: Order) -> None:
        self.order = order
        self._checking = False
        self._set_open(order.status in OPEN)
        self._tick()

    def _set_open(self, is_open: bool) -> None:
        """An ended order offers nothing to do: its buttons and card go, and so do its keys
        from the footer (check_action)."""
        for widget_id in ("#pay", "#cancel", "#card"):
            self.query_one(widget_id).disabled = not is_open
        for widget_id in ("#card-row", "#order-actions"):
            self.query_one(widget_id).display = is_open
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pay", "cancel_order", "edit_card"):
            return self.order.status in OPEN
        return True

    # -- actions ------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "pay":
            self.action_pay()
        elif event.button.id == "cancel":
            self.action_cancel_order()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "card":
            self.action_pay()

    def action_edit_card(self) -> None:
        self.query_one("#card", Input).focus()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_pay(self) -> None:
        if self.order.status in OPEN:
            card = self.query_one("#card", Input).value.strip() or DEFAULT_CARD
            self._outcome("Paying…", "info")
            self._pay(card)

    def action_cancel_order(self) -> None:
        if self.order.status in OPEN:
            self._cancel()

    @work(thread=True, exclusive=True, group="order", exit_on_error=False)
    def _pay(self, card: str) -> None:
        api, token = self.session.api, self.session.token
        try:
            payment = api.pay(token, self.order.id, card)
        except DomainError as error:
            self.app.call_from_thread(self._outcome, f"Not paid: {error.message}", "error")
            self.app.call_from_thread(self._refresh_order)
            return
        if payment.status == "requires_action":
            asked = (
                f"Your card asks you to authenticate this payment: open {payment.action_url} "
                "in a browser, then press p again (same card) to complete it."
            )
            self.app.call_from_thread(self._outcome, asked, "info")
            self.app.call_from_thread(self._refresh_order)
            return
        self.app.call_from_thread(
            self._outcome, f"Paid {payment.amount} {payment.currency}.", "success"
        )
        self.app.call_from_thread(self._refresh_order)

    @work(thread=True, exclusive=True, group="order", exit_on_error=False)
    def _cancel(self) -> None:
        try:
            order = self.session.api.cancel_order(self.session.token, self.order.id)
        except DomainError as error:
            self.app.call_from_thread(self._outcome, error.message, "error")
            return
        self.app.call_from_thread(self._update_order, order)  # which says it was cancelled

    def _outcome(self, text: str, kind: str) -> None:
        outcome = self.query_one("#outcome", Static)
        outcome.update(plain(text))
        outcome.set_classes(kind)
