"""The TUI driven with Textual's pilot against a real LocalApi on a SQLite file: signing in,
searching, buying and paying, a declined card, cancelling, expiry on screen, and a live
update caused by someone else."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static
from textual.widgets._footer import FooterKey

from openticket.app.local import LocalApi
from openticket.core.tickets.model import ImportRow
from openticket.credentials import CredentialStore, target_key
from openticket.tui.app import OpenticketApp
from openticket.tui.screens.help import HelpScreen
from openticket.tui.screens.listing_form import ListingForm
from openticket.tui.screens.listings import ListingsScreen
from openticket.tui.screens.market import PAGE_SIZE, MarketScreen
from openticket.tui.screens.order import OrderScreen
from openticket.tui.screens.orders import OrdersScreen
from openticket.tui.screens.signin import SignInScreen
from openticket.tui.session import Session
from tests.conftest import ManualClock

pytestmark = pytest.mark.anyio
PASSWORD = "long enough"


class Market:
    def __init__(self, api: LocalApi, home: Path, db_url: str, clock: ManualClock) -> None:
        self.api = api
        self.clock = clock  # the marketplace's and the TUI's: tests move time by hand
        self.credentials = CredentialStore(home)
        self.target = target_key(db_url)
        self.seller = api.signup("seller@example.com", PASSWORD)

    def app(self) -> OpenticketApp:
        return OpenticketApp(Session(self.api, self.credentials, self.target, self.clock))

    def signed_in(self, email: str) -> str:
        session = self.api.signup(email, PASSWORD)
        self.credentials.save(self.target, session.token, session.user.model_dump())
        return session.token

    def list(self, title: str, price: str = "20.00") -> str:
        return self.api.create_ticket(self.seller.token, title, price).id


def make_market(
    make_api: Callable[..., LocalApi], tmp_path: Path, db_url: str, ttl: int = 900
) -> Market:
    clock = ManualClock()
    return Market(make_api(clock=clock, order_ttl=ttl), tmp_path / "home", db_url, clock)


async def until(pilot: Pilot[None], check: Callable[[], bool], seconds: float = 60) -> None:
    """Wait for the screen to get there; generous, since a loaded machine is slow to."""
    deadline = time.monotonic() + seconds
    while not _holds(check):
        if time.monotonic() > deadline:
            raise AssertionError("the screen did not get there in time")
        await pilot.pause(0.05)


def _holds(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except NoMatches:  # the screen it looks at is not (yet) the one on top
        return False


def showing(app: OpenticketApp, screen: type[object]) -> bool:
    """That screen is on top and mounted (its widgets can be queried)."""
    return isinstance(app.screen, screen) and app.screen.is_mounted


async def reserve_first(pilot: Pilot[None], app: OpenticketApp) -> None:
    """Buy the first ticket on the marketplace and wait for its order screen."""
    await until(pilot, lambda: len(titles(app)) >= 1)
    await pilot.press("b")
    await until(pilot, lambda: showing(app, OrderScreen))


def titles(app: OpenticketApp) -> list[str]:
    table = app.screen.query_one("#tickets", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def text(app: OpenticketApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_sign_in_screen_signs_in_where_the_cli_looks(market: Market) -> None:
    market.api.signup("buyer@example.com", PASSWORD)
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: showing(app, SignInScreen))
        await pilot.click("#email")
        await pilot.press(*"buyer@example.com", "enter")
        await pilot.press(*"wrong password", "enter")
        await until(pilot, lambda: "Invalid credentials" in text(app, "#signin-error"))
        app.screen.query_one("#password", Input).value = ""
        await pilot.click("#password")
        await pilot.press(*PASSWORD, "enter")
        await until(pilot, lambda: showing(app, MarketScreen))
        assert app.sub_title == "signed in as buyer@example.com"
    token = market.credentials.token(market.target)
    assert token is not None and market.api.whoami(token).email == "buyer@example.com"


async def test_search_as_you_type_and_sort(market: Market) -> None:
    market.signed_in("buyer@example.com")
    for title, price in [("Jazz night", "30"), ("Opera gala", "10"), ("jazz brunch", "20")]:
        market.list(title, price)
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: len(titles(app)) == 3)
        await pilot.press("slash", *"jazz")
        await until(pilot, lambda: titles(app) == ["Jazz night", "jazz brunch"])
        await pilot.press("enter", "s")  # back to the table; sort by price
        await until(pilot, lambda: titles(app) == ["jazz brunch", "Jazz night"])
        assert "sorted by price" in text(app, "#status")


async def test_buy_and_pay(market: Market) -> None:
    token = market.signed_in("buyer@example.com")
    ticket_id = market.list("Opera gala", "45.00")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: titles(app) == ["Opera gala"])
        await pilot.press("b")
        await until(pilot, lambda: showing(app, OrderScreen))
        assert "left to pay" in text(app, "#countdown")
        assert "Opera gala — 45.00 USD" in text(app, "#order-ticket")
        await pilot.press("p")
        await until(pilot, lambda: "Paid 45.00 USD" in text(app, "#outcome"))
        assert "the ticket is yours" in text(app, "#countdown")
        [order] = market.api.list_orders(token)
        assert (order.ticket_id, order.status) == (ticket_id, "complete")
        await pilot.press("escape")
        await until(pilot, lambda: titles(app) == [])  # sold tickets leave the marketplace


async def test_a_declined_card_shows_why_and_keeps_the_order(market: Market) -> None:
    token = market.signed_in("buyer@example.com")
    market.list("Opera gala")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await reserve_first(pilot, app)
        card = app.screen.query_one("#card", Input)
        card.value = "tok_chargeDeclined"
        await pilot.press("p")
        await until(pilot, lambda: "Not paid: Your card was declined" in text(app, "#outcome"))
        [order] = market.api.list_orders(token)
        assert order.status == "created"
        card.value = "tok_visa"  # a second attempt with another card succeeds
        await pilot.press("p")
        await until(pilot, lambda: "Paid" in text(app, "#outcome"))


async def test_cancel_releases_the_ticket(market: Market) -> None:
    market.signed_in("buyer@example.com")
    market.list("Opera gala")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await reserve_first(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: "was cancelled" in text(app, "#countdown"))
        assert app.screen.query_one("#pay").disabled
        await pilot.press("escape")
        await until(pilot, lambda: titles(app) == ["Opera gala"])
    assert market.api.list_tickets()[0].status == "available"


async def test_the_countdown_ends_in_an_expired_order(
    make_api: Callable[..., LocalApi], tmp_path: Path, db_url: str
) -> None:
    market = make_market(make_api, tmp_path, db_url, ttl=2)
    market.signed_in("buyer@example.com")
    market.list("Opera gala")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await reserve_first(pilot, app)
        assert "00:02 left to pay" in text(app, "#countdown")
        market.clock.advance(1)
        await until(pilot, lambda: "00:01 left to pay" in text(app, "#countdown"))
        market.clock.advance(1)
        await until(pilot, lambda: "expired" in text(app, "#countdown"))
        assert app.screen.query_one("#pay").disabled
    assert market.api.list_tickets()[0].title == "Opera gala"  # back on sale


async def test_someone_elses_changes_arrive_without_a_keypress(market: Market) -> None:
    market.signed_in("buyer@example.com")
    first = market.list("Opera gala")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: titles(app) == ["Opera gala"])
        await until(pilot, lambda: following(app))
        market.list("Ballet premiere")
        await until(pilot, lambda: titles(app) == ["Opera gala", "Ballet premiere"])
        rival = market.api.signup("rival@example.com", PASSWORD)
        market.api.create_order(rival.token, first)  # reserved by someone else
        await until(pilot, lambda: titles(app) == ["Ballet premiere"])


def following(app: OpenticketApp) -> bool:
    """The market's live view has found its place in the event log."""
    return isinstance(app.screen, MarketScreen) and app.screen.last_seq is not None


def rows(app: OpenticketApp, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_my_orders_show_history_and_reopen_an_open_order(market: Market) -> None:
    token = market.signed_in("buyer@example.com")
    paid = market.api.create_order(token, market.list("Opera gala", "45.00"))
    market.api.pay(token, paid.id, "tok_visa")
    market.api.create_order(token, market.list("Ballet premiere", "30.00"))
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("o")
        await until(pilot, lambda: showing(app, OrdersScreen))
        await until(pilot, lambda: len(rows(app, "#orders")) == 2)
        assert sorted((r[0], r[2]) for r in rows(app, "#orders")) == [
            ("Ballet premiere", "created"),
            ("Opera gala", "complete"),
        ]
        table = app.screen.query_one("#orders", DataTable)
        table.move_cursor(row=[r[0] for r in rows(app, "#orders")].index("Ballet premiere"))
        await pilot.press("enter")
        await until(pilot, lambda: showing(app, OrderScreen))
        assert "left to pay" in text(app, "#countdown")


async def test_create_and_edit_a_listing_with_messages_next_to_the_fields(
    market: Market,
) -> None:
    token = market.signed_in("lister@example.com")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("l")
        await until(pilot, lambda: showing(app, ListingsScreen))
        await pilot.press("a")
        await until(pilot, lambda: showing(app, ListingForm))
        await pilot.press("enter")  # nothing filled in
        await until(pilot, lambda: text(app, "#title-error") == "Title is required")
        assert text(app, "#price-error") == "Price is required"
        await pilot.press(*"Jazz night", "tab", *"0.10")
        await pilot.press("enter")
        await until(pilot, lambda: "at least 0.50 USD" in text(app, "#price-error"))
        assert text(app, "#title-error") == ""
        app.screen.query_one("#price", Input).value = "25"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: showing(app, ListingsScreen))
        await until(
            pilot, lambda: rows(app, "#listings") == [["Jazz night", "25.00 USD", "available", ""]]
        )
        await pilot.press("e")
        await until(pilot, lambda: showing(app, ListingForm))
        app.screen.query_one("#price", Input).value = "27.50"
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: rows(app, "#listings") == [["Jazz night", "27.50 USD", "available", ""]]
        )
    [mine] = market.api.list_tickets(token, mine=True)
    assert (mine.title, mine.price, mine.version) == ("Jazz night", "27.50", 1)


async def test_editing_is_refused_while_reserved(market: Market) -> None:
    token = market.signed_in("lister@example.com")
    ticket = market.api.create_ticket(token, "Jazz night", "25")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("l")
        await until(pilot, lambda: len(rows(app, "#listings")) == 1)
        await pilot.press("e")
        await until(pilot, lambda: showing(app, ListingForm))
        rival = market.api.signup("rival@example.com", PASSWORD)
        market.api.create_order(rival.token, ticket.id)  # reserved while the form is open
        app.screen.query_one("#price", Input).value = "30"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: text(app, "#form-error") == "Cannot edit a reserved ticket")
        await pilot.press("escape")
        await until(pilot, lambda: rows(app, "#listings")[0][2:] == ["reserved", ""])
        await pilot.press("e")
        await until(pilot, lambda: "Cannot edit a reserved ticket" in text(app, "#listings-status"))
    assert market.api.get_ticket(ticket.id).price == "25.00"


async def test_help_lists_the_keys_and_q_quits(market: Market) -> None:
    market.signed_in("buyer@example.com")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.press("question_mark")
        await until(pilot, lambda: showing(app, HelpScreen))
        shown = str(app.screen.query_one(Static).render())
        for description in ("Buy", "Search", "Sort", "My orders", "My listings", "Quit"):
            assert description in shown
        await pilot.press("escape")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)


async def test_sign_up_from_the_sign_in_screen(market: Market) -> None:
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: showing(app, SignInScreen))
        await pilot.press(*"new@example.com", "tab", *"short")
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "at least 8 characters" in text(app, "#signin-error"))
        app.screen.query_one("#password", Input).value = PASSWORD
        await pilot.click("#sign-up")
        await until(pilot, lambda: showing(app, MarketScreen))
        assert app.sub_title == "signed in as new@example.com"
    assert market.api.signin("new@example.com", PASSWORD).user.email == "new@example.com"


async def test_an_expired_lock_puts_the_ticket_back_without_a_keypress(
    make_api: Callable[..., LocalApi], tmp_path: Path, db_url: str
) -> None:
    market = make_market(make_api, tmp_path, db_url, ttl=2)
    market.signed_in("buyer@example.com")
    ticket_id = market.list("Opera gala")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: titles(app) == ["Opera gala"])
        await until(pilot, lambda: following(app))
        rival = market.api.signup("rival@example.com", PASSWORD)
        market.api.create_order(rival.token, ticket_id)
        await until(pilot, lambda: titles(app) == [])
        market.clock.advance(3)  # the rival's window ends, and no key is pressed
        await until(pilot, lambda: titles(app) == ["Opera gala"])


async def test_backing_out_of_sign_in_keeps_who_is_signed_in(market: Market) -> None:
    market.signed_in("buyer@example.com")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.sub_title == "signed in as buyer@example.com")
        await pilot.press("i")
        await until(pilot, lambda: showing(app, SignInScreen))
        await pilot.press("escape")
        await until(pilot, lambda: showing(app, MarketScreen))
        await pilot.pause(0.2)
        await until(pilot, lambda: app.sub_title == "signed in as buyer@example.com")


def footer_keys(app: OpenticketApp) -> dict[str, Any]:
    """The keys the footer shows, with where they are on the screen."""
    return {key.key: key.region for key in app.screen.query(FooterKey)}


async def test_a_paid_order_offers_nothing_more_to_do(market: Market) -> None:
    market.signed_in("buyer@example.com")
    market.list("Opera gala", "45.00")
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await reserve_first(pilot, app)
        assert {"p", "c"} <= set(footer_keys(app))
        await pilot.press("p")
        await until(pilot, lambda: "the ticket is yours" in text(app, "#countdown"))
        await until(pilot, lambda: not {"p", "c", "e"} & set(footer_keys(app)))
        assert not app.screen.query_one("#order-actions").display
        assert not app.screen.query_one("#card-row").display


async def test_the_footer_fits_80_columns_and_help_lists_ours_first(market: Market) -> None:
    market.signed_in("buyer@example.com")
    app = market.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(
            pilot,
            lambda: (
                showing(app, MarketScreen)
                and len(footer_keys(app)) > 5
                and all(region.width for region in footer_keys(app).values())
            ),  # laid out
        )
        keys = footer_keys(app)
        assert {"o", "l", "b", "question_mark"} <= set(keys)
        assert all(region.right <= 80 for region in keys.values())
        assert len({region.x for region in keys.values()}) == len(keys)  # none on another
        await pilot.press("question_mark")
        await until(pilot, lambda: showing(app, HelpScreen))
        lines = [line.strip() for line in str(app.screen.query_one(Static).render()).splitlines()]
        ours = lines[2 : lines.index("", 2)]
        assert ours[0] == "b  Buy" and "/  Search" in ours and "?  Help" in ours
        assert "o  My orders" in ours and "n  Next page" in ours and "^p  Commands" in ours
        assert not any("slash" in line or "question_mark" in line for line in lines)


async def test_the_command_palette_runs_our_actions_and_finds_tickets(market: Market) -> None:
    market.signed_in("buyer@example.com")
    for title in ("Opera gala", "Jazz night"):
        market.list(title)
    app = market.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: len(titles(app)) == 2)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"My orders")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: showing(app, OrdersScreen))
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"gala")
        await until(pilot, lambda: any("Opera gala" in o for o in palette_options(app)))
        await pilot.press("down", "enter")
        await until(pilot, lambda: showing(app, MarketScreen) and titles(app) == ["Opera gala"])


def palette_options(app: OpenticketApp) -> list[str]:
    found = app.screen.query_one(CommandList)
    return [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]


async def test_the_status_line_counts_the_whole_listing(market: Market) -> None:
    market.signed_in("buyer@example.com")
    rows = [ImportRow(n + 1, f"Seat {n}", "10") for n in range(PAGE_SIZE + 5)]
    market.api.import_tickets(market.seller.token, iter(rows))
    app = market.app()
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(titles(app)) == PAGE_SIZE)
        assert text(app, "#status").startswith(f"Page 1 of 2 · 1-{PAGE_SIZE} of 105 tickets")
        await pilot.press("n")
        await until(pilot, lambda: len(titles(app)) == 5)
        assert text(app, "#status").startswith(f"Page 2 of 2 · {PAGE_SIZE + 1}-105 of 105")
        await pilot.press("n")  # the last page: it says so and stays
        await until(pilot, lambda: any("last page" in str(n.message) for n in app._notifications))
        assert len(titles(app)) == 5
