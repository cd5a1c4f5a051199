"""Hostile titles in the TUI (Pilot): the app starts, every screen shows them as typed, and a
title that would be a Textual action link in markup does nothing when clicked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable

from openticket.app.local import LocalApi
from openticket.tui.screens.listings import ListingsScreen
from openticket.tui.screens.market import MarketScreen
from openticket.tui.screens.order import OrderScreen
from openticket.tui.screens.orders import OrdersScreen
from tests.hostile_text import HOSTILE_TITLES
from tests.tui.test_tui_flows import make_market, rows, showing, text, titles, until

pytestmark = pytest.mark.anyio
CLICKABLE = "[@click=app.quit]free tickets[/]"


async def test_hostile_titles_on_every_screen(
    make_api: Callable[..., LocalApi], tmp_path: Path, db_url: str
) -> None:
    market = make_market(make_api, tmp_path, db_url)
    for title in HOSTILE_TITLES:
        market.list(title)
    market.api.update_profile(market.seller.token, display_name=CLICKABLE)  # a seller too
    market.signed_in("buyer@example.com")
    app = market.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: sorted(titles(app)) == sorted(HOSTILE_TITLES))
        assert {row[2] for row in rows(app, "#tickets")} == {CLICKABLE}
        table = app.screen.query_one("#tickets", DataTable)
        table.move_cursor(row=titles(app).index(CLICKABLE))
        await pilot.click("#tickets")  # on the row drawn from the title
        await pilot.press("b")
        await until(pilot, lambda: showing(app, OrderScreen))
        assert CLICKABLE in text(app, "#order-ticket")
        await pilot.click("#order-ticket")
        assert app.is_running
        await pilot.press("escape", "o")
        await until(pilot, lambda: showing(app, OrdersScreen))
        await until(pilot, lambda: [row[0] for row in rows(app, "#orders")] == [CLICKABLE])
        await pilot.press("escape")
        await until(pilot, lambda: showing(app, MarketScreen))
    assert not app.is_running  # run_test ended it: the click above did not

    seller_app = market.app()
    market.credentials.save(market.target, market.seller.token, market.seller.user.model_dump())
    async with seller_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(seller_app, MarketScreen))
        await pilot.press("l")
        await until(pilot, lambda: showing(seller_app, ListingsScreen))
        await until(
            pilot,
            lambda: (
                sorted(row[0] for row in rows(seller_app, "#listings")) == sorted(HOSTILE_TITLES)
            ),
        )
