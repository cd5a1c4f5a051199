"""The TUI tells the signed-in user of their news: a toast when it comes, the unread count in
the title bar, and a Notifications screen (N) that lists it and marks it read. Titles are
shown as typed, markup and all."""

from __future__ import annotations

import pytest

from openticket.tui.screens.market import MarketScreen
from openticket.tui.screens.notifications import NotificationsScreen
from tests.tui.test_tui_flows import Market, rows, showing, text, until

pytestmark = pytest.mark.anyio

HOSTILE = "Opera [/] [bold]gala[/bold]"


def _toasts(app: object) -> list[str]:
    return [str(n.message) for n in app._notifications]  # type: ignore[attr-defined]


async def test_news_is_toasted_counted_and_listed(market: Market) -> None:
    token = market.signed_in("watcher@example.com")
    market.api.add_watch(token, "opera")
    app = market.app()
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await until(pilot, lambda: app.sub_title == "signed in as watcher@example.com")
        await until(pilot, lambda: app._news_seen is not None)  # the first look: nothing new

        ticket_id = market.list(HOSTILE, "45.00")
        app.look_for_news()  # what the app does every few seconds

        await until(pilot, lambda: any(HOSTILE in toast for toast in _toasts(app)))
        await until(pilot, lambda: "1 unread (N)" in app.sub_title)
        await pilot.press("N")
        await until(pilot, lambda: showing(app, NotificationsScreen))
        await until(pilot, lambda: len(rows(app, "#notifications")) == 1)
        [[_when, news]] = rows(app, "#notifications")
        assert f"'{HOSTILE}' listed at 45.00 USD (ticket {ticket_id}" in news
        assert "1 notifications, 1 new" in text(app, "#notifications-status")
        assert market.api.unread_notifications(token) == 0  # read by opening the screen

        await pilot.press("escape")
        await until(pilot, lambda: "unread" not in app.sub_title)


async def test_news_from_before_the_app_started_is_counted_not_toasted(market: Market) -> None:
    token = market.signed_in("watcher@example.com")
    market.api.add_watch(token, "opera")
    market.list("Opera", "45.00")
    app = market.app()
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: "1 unread (N)" in app.sub_title)
        looks = app.news_looks
        app.look_for_news()
        await until(pilot, lambda: app.news_looks > looks)  # a look ended after this one began
        assert _toasts(app) == []
