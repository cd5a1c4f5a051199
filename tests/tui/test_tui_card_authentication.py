"""Paying in the TUI with a card that asks for 3-D Secure (the Stripe provider, localstripe
behind the project's StripeFront, which FAKES the authentication page): the order screen says
which page to open and keeps the order payable; paying again once it is done completes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from openticket.app.local import LocalApi
from openticket.providers.stripe import StripeProvider
from openticket.tui.screens.order import OrderScreen
from tests.conftest import ManualClock
from tests.stripe_servers import TEST_KEY, StripeFront
from tests.tui.test_tui_flows import Market, reserve_first, text, until

pytestmark = pytest.mark.anyio


async def test_the_order_screen_shows_the_page_then_paying_again_completes(
    make_api: Callable[..., LocalApi], tmp_path: Path, db_url: str, stripe_front: StripeFront
) -> None:
    clock = ManualClock()
    provider = StripeProvider(TEST_KEY, api_base=stripe_front.url, timeout=5.0)
    market = Market(make_api(clock=clock, provider=provider), tmp_path / "home", db_url, clock)
    token = market.signed_in("buyer@example.com")
    market.list("Opera gala")
    app = market.app()
    async with app.run_test(size=(120, 30)) as pilot:
        await reserve_first(pilot, app)
        assert isinstance(app.screen, OrderScreen)
        app.screen.query_one("#card", Input).value = "tok_threeDSecure2Required"
        await pilot.press("p")
        await until(pilot, lambda: "authenticate this payment" in text(app, "#outcome"))
        [order] = market.api.list_orders(token)
        waiting = market.api.check_payment(token, order.id)
        assert waiting.action_url is not None
        assert waiting.action_url in " ".join(text(app, "#outcome").split())
        assert "left to pay" in text(app, "#countdown")  # still payable, and expiring

        stripe_front.authenticate(str(waiting.provider_ref))
        await pilot.press("p")

        await until(pilot, lambda: "Paid 20.00 USD" in text(app, "#outcome"))
        assert market.api.get_order(token, order.id).status == "complete"
