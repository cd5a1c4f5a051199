"""Notifications: your news, newest first (watch hits, orders that expired or were voided,
tickets sold, payouts). Opening the screen marks them read."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from openticket.app.schemas import Notification
from openticket.notification_text import describe
from openticket.tui.screens.table_screen import TableScreen
from openticket.tui.session import Session
from openticket.tui.text import fill_rows

SHOWN = 200  # the newest this many


class NotificationsScreen(TableScreen[Notification]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
    ]

    HEADING = "Notifications"
    TABLE = "notifications"
    COLUMNS = ("When", "News")

    def __init__(self, session: Session) -> None:
        super().__init__(session, self._fetch_news, self._show)
        self._unread = 0  # before this screen marked them read

    def _fetch_news(self) -> list[Notification]:
        api, token = self.session.api, self.session.token
        unread = api.unread_notifications(token)
        newest: list[Notification] = []
        after = 0
        while batch := api.notifications(token, after=after, limit=1000):
            newest = (newest + batch)[-SHOWN:]
            after = batch[-1].seq
        if newest:
            api.mark_notifications_read(token, newest[-1].seq)
        self._unread = unread
        return list(reversed(newest))

    def _show(self, found: list[Notification]) -> None:
        rows = (
            (n.id, (n.created_at[:16].replace("T", " "), describe(n.kind, n.data))) for n in found
        )
        fill_rows(self.table(), rows)
        self.say(f"{len(found)} notifications, {self._unread} new")
