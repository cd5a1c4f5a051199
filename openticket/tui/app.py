"""The Textual app: the marketplace first, sign-in when needed, keys in the footer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from openticket.app.api import Api
from openticket.core.errors import DomainError
from openticket.notification_text import describe
from openticket.tui.commands import TicketSearch
from openticket.tui.screens.help import HelpScreen
from openticket.tui.screens.listings import ListingsScreen
from openticket.tui.screens.market import MarketScreen
from openticket.tui.screens.notifications import NotificationsScreen
from openticket.tui.screens.orders import OrdersScreen
from openticket.tui.screens.signin import SignInScreen
from openticket.tui.screens.wallet import WalletScreen
from openticket.tui.session import Session

RETRY_SECONDS = 2.0
NEWS_POLL_SECONDS = 5.0  # how often the app looks for the user's news (toasts, unread count)
PAGE = 1000


class OpenticketApp(App[None]):
    TITLE = "openticket"
    CSS_PATH = "styles.tcss"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {
        *App.COMMANDS,
        TicketSearch,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("o", "orders", "My orders"),
        Binding("l", "listings", "My listings"),
        Binding("w", "wallet", "My tickets", show=False),  # in ? help and the palette
        Binding("N", "notifications", "Notifications", show=False),
        Binding("i", "sign_in", "Sign in"),
        Binding("x", "sign_out", "Sign out", show=False),  # in ? help; the footer is full
        Binding("ctrl+p", "command_palette", "Commands", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.email: str | None = None
        self.unread = 0
        self._news_seen: tuple[str, int] | None = None  # (token, newest seq toasted)
        self.news_looks = 0  # looks for news finished (tests wait on it)

    def on_mount(self) -> None:
        self.push_screen(MarketScreen(self.session))
        self._who_is_signed_in()
        self.set_interval(NEWS_POLL_SECONDS, self.look_for_news)

    def look_for_news(self) -> None:
        """Toast the user's news that came since the last look, and count what is unread
        (in the title bar). The first look only takes note of where the stream is."""
        token = self.session.token
        if token is None or self.email is None:
            return

        def look() -> None:
            api = self.session.api
            seen = self._news_seen
            try:
                unread = api.unread_notifications(token)
                if seen is not None and seen[0] == token:
                    fresh = api.notifications(token, after=seen[1])
                    newest = fresh[-1].seq if fresh else seen[1]
                else:  # the first look: where the stream is now, nothing toasted
                    fresh, newest = [], _newest_seq(api, token)
            except DomainError:
                return  # offline for now: the next look tries again
            self.call_from_thread(self._news_arrived, token, newest, unread, fresh)

        self.run_worker(look, thread=True, group="news", exclusive=True, exit_on_error=False)

    def _news_arrived(self, token: str, newest: int, unread: int, fresh: list[Any]) -> None:
        self._news_seen = (token, newest)
        self.unread = unread
        self.news_looks += 1
        for notification in fresh[-3:]:  # a burst shows its last few; the screen has all
            text = describe(notification.kind, notification.data)
            self.notify(text, title="openticket", markup=False, timeout=8)
        self._show_user(self.email)

    def _who_is_signed_in(self) -> None:
        def check() -> None:
            try:
                email = self.session.signed_in_email()
            except DomainError as error:  # the market screen shows it and retries
                self.call_from_thread(self._show_offline, error)
                return
            self.call_from_thread(self._show_user, email)
            if email is None:
                self.call_from_thread(self.action_sign_in)

        self.run_worker(check, thread=True, group="auth", exit_on_error=False)

    def _show_offline(self, error: DomainError) -> None:
        self.sub_title = "offline"
        self.set_timer(RETRY_SECONDS, self._who_is_signed_in)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A bug in a worker is reported, not fatal: the app keeps running."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                f"Something went wrong: {event.worker.error}", severity="error", markup=False
            )

    def _show_user(self, email: str | None) -> None:
        if email != self.email:
            self.email, self._news_seen, self.unread = email, None, 0
        unread = f" · {self.unread} unread (N)" if email and self.unread else ""
        self.sub_title = f"signed in as {email}{unread}" if email else "not signed in"
        if email is not None and self._news_seen is None:
            self.look_for_news()

    @on(MarketScreen.SignInNeeded)
    def _sign_in_needed(self) -> None:
        self.action_sign_in()

    def action_sign_in(self) -> None:
        if not isinstance(self.screen, SignInScreen):
            self.push_screen(SignInScreen(self.session), self._signed_in)

    def _signed_in(self, email: str | None) -> None:
        """The sign-in dialog closed: with the new user, or backed out of (whoever was signed
        in still is)."""
        if email is not None:
            self._show_user(email)
        else:
            self._who_is_signed_in()

    def action_sign_out(self) -> None:
        def sign_out() -> None:
            self.session.sign_out()
            self.call_from_thread(self._show_user, None)

        self.run_worker(sign_out, thread=True, group="auth", exit_on_error=False)

    def action_orders(self) -> None:
        self._open_own(OrdersScreen)

    def action_listings(self) -> None:
        self._open_own(ListingsScreen)

    def action_wallet(self) -> None:
        self._open_own(WalletScreen)

    def action_notifications(self) -> None:
        self._open_own(NotificationsScreen)

    def _open_own(
        self,
        screen: type[OrdersScreen]
        | type[ListingsScreen]
        | type[WalletScreen]
        | type[NotificationsScreen],
    ) -> None:
        if isinstance(self.screen, screen):
            return
        if self.session.token is None:
            self.action_sign_in()
            return
        self.push_screen(screen(self.session), lambda _: self.look_for_news())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Ours, not the toolkit's (themes, screenshots)."""
        yield SystemCommand("My orders", "Your orders, open and past (o)", self.action_orders)
        yield SystemCommand("My listings", "The tickets you sell (l)", self.action_listings)
        yield SystemCommand(
            "My tickets", "The tickets you hold, their codes, resale (w)", self.action_wallet
        )
        yield SystemCommand(
            "Notifications", "Your news: watch hits, sales, payouts (N)", self.action_notifications
        )
        yield SystemCommand("Search tickets", "Filter the market by title (/)", self._search)
        yield SystemCommand("Sign in", "Sign in or sign up (i)", self.action_sign_in)
        yield SystemCommand("Sign out", "Sign out here (x)", self.action_sign_out)
        yield SystemCommand("Keys", "Every key of this screen (?)", self.action_help)
        yield SystemCommand("Quit", "Leave openticket (q)", self.exit)

    def show_in_market(self, title: str) -> None:
        """Back on the market, filtered to `title` (a ticket chosen in the palette)."""
        while not isinstance(self.screen, MarketScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        if isinstance(self.screen, MarketScreen):
            self.screen.search_for(title)

    def _search(self) -> None:
        self.show_in_market("")
        if isinstance(self.screen, MarketScreen):
            self.screen.action_search()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))


def _newest_seq(api: Api, token: str) -> int:
    newest, page = 0, PAGE
    while page == PAGE:
        batch = api.notifications(token, after=newest, limit=PAGE)
        page = len(batch)
        newest = batch[-1].seq if batch else newest
    return newest
