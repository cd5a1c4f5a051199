"""The TUI's "My listings" (l) shows what each sale owes its seller: the payout's net amount
and status (held, released, reversed), and the totals under the table."""

from __future__ import annotations

import pytest

from openticket.tui.screens.listings import ListingsScreen
from openticket.tui.screens.market import MarketScreen
from tests.tui.test_tui_flows import PASSWORD, Market, rows, showing, text, until

pytestmark = pytest.mark.anyio


async def test_my_listings_show_each_sale_s_payout(market: Market) -> None:
    seller = market.signed_in("lister@example.com")
    buyer = market.api.signup("buyer@example.com", PASSWORD).token
    api = market.api
    sold = api.create_ticket(seller, "[b]Sold[/b] gig", "12.50")
    api.pay(buyer, api.create_order(buyer, sold.id).id, "tok_visa")
    refunded = api.create_ticket(seller, "Refunded gig", "30.00")
    order = api.create_order(buyer, refunded.id)
    api.pay(buyer, order.id, "tok_visa")
    api.refund_order(seller, order.id)
    api.create_ticket(seller, "Unsold gig", "20.00")
    app = market.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("l")
        await until(pilot, lambda: showing(app, ListingsScreen))
        await until(pilot, lambda: len(rows(app, "#listings")) == 3)
        shown = {row[0]: row[2:] for row in rows(app, "#listings")}
        assert shown == {
            "[b]Sold[/b] gig": ["sold", "11.87 USD held"],
            "Refunded gig": ["sold", "28.50 USD reversed"],
            "Unsold gig": ["available", ""],
        }
        assert "payouts: 11.87 USD held" in text(app, "#listings-status")
