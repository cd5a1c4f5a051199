"""The TUI's "My tickets" (w): the tickets you hold with their codes drawn as QR codes,
resale within the cap it shows, giving one away; the marketplace marks resales."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from openticket.tui.screens.market import MarketScreen
from openticket.tui.screens.wallet import HeldTicketScreen, WalletScreen
from tests.tui.test_tui_flows import Market, rows, showing, text, until

pytestmark = pytest.mark.anyio


def _held(market: Market, token: str, title: str, price: str) -> str:
    ticket_id = market.list(title, price)
    order = market.api.create_order(token, ticket_id)
    market.api.pay(token, order.id, "tok_visa")
    return ticket_id


async def test_my_tickets_show_the_code_and_resell_within_the_cap(market: Market) -> None:
    token = market.signed_in("buyer@example.com")
    ticket_id = _held(market, token, "[b]Opera[/b] gala", "40.00")
    code = market.api.wallet_entry(token, ticket_id).code
    app = market.app()
    async with app.run_test(size=(120, 60)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("w")
        await until(pilot, lambda: showing(app, WalletScreen))
        await until(pilot, lambda: len(rows(app, "#wallet")) == 1)
        assert rows(app, "#wallet") == [["[b]Opera[/b] gala", "40.00 USD", "held"]]
        await pilot.press("enter")
        await until(pilot, lambda: showing(app, HeldTicketScreen))
        shown = text(app, "#held-ticket")
        assert code in shown and "Resale cap: 44.00 USD" in shown
        assert "█" in text(app, "#held-qr")
        await pilot.press("s")
        price = app.screen.query_one("#resale-price", Input)
        price.value = "44.01"
        await pilot.press("enter")
        await until(pilot, lambda: "resale cap" in text(app, "#held-outcome"))
        price.value = "44.00"
        await pilot.press("enter")
        await until(pilot, lambda: "Listed for resale" in text(app, "#held-outcome"))
        assert "listed for resale" in text(app, "#held-ticket")
        await pilot.press("escape")
        await until(pilot, lambda: rows(app, "#wallet")[0][2:] == ["listed for resale"])
        await pilot.press("escape")
        await until(pilot, lambda: showing(app, MarketScreen))
        await until(pilot, lambda: any("resale" in row[2] for row in rows(app, "#tickets")))
    listed = market.api.get_ticket(ticket_id)
    assert (listed.status, listed.price, listed.resale) == ("available", "44.00", True)


async def test_give_a_ticket_away_from_my_tickets(market: Market) -> None:
    token = market.signed_in("giver@example.com")
    friend = market.api.signup("friend@example.com", "long enough").token
    ticket_id = _held(market, token, "Ballet", "30.00")
    app = market.app()
    async with app.run_test(size=(120, 60)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("w")
        await until(pilot, lambda: len(rows(app, "#wallet")) == 1)
        await pilot.press("enter")
        await until(pilot, lambda: showing(app, HeldTicketScreen))
        await pilot.press("t")
        app.screen.query_one("#gift-to", Input).value = "friend@example.com"
        await pilot.press("enter")
        await until(pilot, lambda: "Given to friend@example.com" in text(app, "#held-outcome"))
        await pilot.press("escape")
        await until(pilot, lambda: "no tickets" in text(app, "#wallet-status"))
    assert [entry.ticket.id for entry in market.api.wallet(friend)] == [ticket_id]
