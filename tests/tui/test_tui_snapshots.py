"""SVG snapshots of the main screens at 100x30, so that layout changes are seen in review.
(Regenerate after an intended change: pytest tests/tui --snapshot-update.) Ids are made
deterministic for these tests only, since the seller column and the order heading show them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from openticket.app.local import LocalApi
from openticket.tui.app import OpenticketApp
from openticket.tui.screens.listing_form import ListingForm
from openticket.tui.screens.market import MarketScreen
from openticket.tui.screens.order import OrderScreen
from openticket.tui.screens.signin import SignInScreen
from tests.tui.test_tui_flows import Market, make_market, showing, text, titles, until

SIZE = (100, 30)
ID_USERS = (
    "openticket.core.auth.service",
    "openticket.core.tickets.service",
    "openticket.core.orders.service",
    "openticket.core.payments.service",
    "openticket.core.events",
)


async def still(pilot: Pilot[None], app: OpenticketApp) -> None:
    """No blinking cursor in the picture: a blink would make the snapshot depend on timing."""
    for field in app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@pytest.fixture
def steady_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    counter = itertools.count(1)

    def next_id() -> str:
        return f"{next(counter):032x}"

    import importlib

    for name in ID_USERS:
        monkeypatch.setattr(importlib.import_module(name), "new_id", next_id)
    yield


@pytest.fixture
def world(
    steady_ids: None, make_api: Callable[..., LocalApi], tmp_path: Path, db_url: str
) -> Market:
    market = make_market(make_api, tmp_path, db_url)
    for title, price in [("Opera gala", "45.00"), ("Jazz night", "30.00"), ("Ballet", "12.50")]:
        market.list(title, price)
    return market


def test_market(world: Market, snap_compare: Any) -> None:
    world.signed_in("buyer@example.com")
    app = world.app()

    async def ready(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(titles(app)) == 3 and app.sub_title != "")
        await still(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_sign_in(
    steady_ids: None,
    make_api: Callable[..., LocalApi],
    tmp_path: Path,
    db_url: str,
    snap_compare: Any,
) -> None:
    # An empty marketplace behind the dialog: a table filled while covered by it is drawn with
    # whatever column widths it had measured so far, which made the picture depend on timing.
    app = make_market(make_api, tmp_path, db_url).app()

    async def ready(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: showing(app, SignInScreen))
        await pilot.press(*"buyer@example.com")
        await still(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_paid_order(world: Market, snap_compare: Any) -> None:
    world.signed_in("buyer@example.com")
    app = world.app()

    async def ready(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: len(titles(app)) == 3)
        await pilot.press("b")
        await until(pilot, lambda: showing(app, OrderScreen))
        await pilot.press("p")
        await until(pilot, lambda: "Paid" in text(app, "#outcome"))
        await still(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_listing_form_with_refusals(world: Market, snap_compare: Any) -> None:
    world.signed_in("seller2@example.com")
    app = world.app()

    async def ready(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("l")
        await pilot.press("a")
        await until(pilot, lambda: showing(app, ListingForm))
        app.screen.query_one("#price", Input).value = "0.10"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "at least" in text(app, "#price-error"))
        await still(pilot, app)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
