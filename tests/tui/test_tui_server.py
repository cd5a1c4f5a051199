"""The TUI against a real `openticket serve`: buying and paying through the HTTP API, and a
server that goes away and comes back (a banner, retries, no crash)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from openticket.client.remote import RemoteApi
from openticket.credentials import CredentialStore, target_key
from openticket.tui.app import OpenticketApp
from openticket.tui.screens.market import MarketScreen
from openticket.tui.screens.order import OrderScreen
from openticket.tui.session import Session
from tests.conftest import free_port, running_server
from tests.tui.test_tui_flows import PASSWORD, showing, text, titles, until

pytestmark = pytest.mark.anyio


def _app(url: str, home: Path) -> tuple[OpenticketApp, RemoteApi, CredentialStore]:
    api = RemoteApi(url)
    credentials = CredentialStore(home)
    return OpenticketApp(Session(api, credentials, target_key(server=url))), api, credentials


async def test_buy_and_pay_through_a_server(tmp_path: Path) -> None:
    (tmp_path / "server-home").mkdir()
    with running_server(tmp_path / "db.sqlite", tmp_path / "server-home") as url:
        app, api, credentials = _app(url, tmp_path / "home")
        seller = api.signup("seller@example.com", PASSWORD)
        api.create_ticket(seller.token, "Remote opera", "45.00")
        buyer = api.signup("buyer@example.com", PASSWORD)
        credentials.save(target_key(server=url), buyer.token, buyer.user.model_dump())
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: titles(app) == ["Remote opera"])
            await pilot.press("b")
            await until(pilot, lambda: showing(app, OrderScreen))
            await pilot.press("p")
            await until(pilot, lambda: "Paid 45.00 USD" in text(app, "#outcome"))
        [order] = api.list_orders(buyer.token)
        assert order.status == "complete"
        api.close()


async def test_a_lost_server_shows_a_banner_and_the_app_recovers(tmp_path: Path) -> None:
    (tmp_path / "server-home").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app, api, _ = _app(url, tmp_path / "home")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: any(isinstance(s, MarketScreen) for s in app.screen_stack))
        market = next(s for s in app.screen_stack if isinstance(s, MarketScreen))
        banner = market.query_one("#banner", Static)

        def says(fragment: str) -> bool:
            return bool(banner.display) and fragment in str(banner.render())

        await until(pilot, lambda: says("Cannot reach the server"))
        assert says("retrying") and app.is_running
        with running_server(tmp_path / "db.sqlite", tmp_path / "server-home", port=port):
            seller = api.signup("seller@example.com", PASSWORD)
            api.create_ticket(seller.token, "After the outage", "20.00")
            table = market.query_one("#tickets", DataTable)
            await until(pilot, lambda: table.row_count == 1)
            assert str(table.get_row_at(0)[0]) == "After the outage"
            assert not banner.display
    api.close()
