"""Saved searches and each user's news, through the Api in process on both stores: a listing
that matches a watch is announced once (new, listed again, its price dropped into range, or
back on sale after an order ended), never to its own seller; buyers hear of orders that
expired or were voided, sellers of sales and payouts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert

from openticket.app.local import LocalApi
from openticket.core.errors import Conflict, InvalidInput, NotFound
from openticket.core.events import Envelope
from openticket.core.ids import new_id
from openticket.core.notify import handlers, repository
from openticket.core.notify.model import WATCHES_PER_USER
from openticket.core.notify.tables import watches
from openticket.core.ports import Transaction
from openticket.core.tickets.model import ImportRow
from tests.conftest import ManualClock
from tests.modes import on_both_stores  # noqa: F401  (db_url: each test on both)

PASSWORD = "correct horse"
HOUR = 3600


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api(order_ttl=60, settings={"payout_hold_setting": str(HOUR)})


def _people(api: LocalApi, *names: str) -> list[str]:
    return [api.signup(f"{name}@example.com", PASSWORD).token for name in names]


def _news(api: LocalApi, token: str) -> list[tuple[str, Any]]:
    return [(n.kind, n.data) for n in api.notifications(token)]


def _listed(api: LocalApi, token: str) -> list[str]:
    """The titles a user's watches announced, in order."""
    return [data["ticket"]["title"] for kind, data in _news(api, token) if kind == "watch:matched"]


def test_a_new_listing_that_matches_is_announced_once_to_its_watcher(market: LocalApi) -> None:
    seller, watcher, other = _people(market, "seller", "watcher", "other")
    watch = market.add_watch(watcher, "opera", "50.00")
    assert (watch.search, watch.max_price, watch.currency) == ("opera", "50.00", "USD")

    ticket = market.create_ticket(seller, "Opera Gala [/]", "45.00")
    market.create_ticket(seller, "Opera, front row", "95.00")  # over the price
    market.create_ticket(seller, "Ballet", "20.00")  # other words
    market.create_ticket(seller, "Opera in yen", "4000", "JPY")  # another currency
    market.update_ticket(seller, ticket.id, title="Opera Gala, balcony")  # the same listing

    [(kind, data)] = _news(market, watcher)
    assert kind == "watch:matched"
    assert data == {
        "watch_id": watch.id,
        "search": "opera",
        "ticket": {"id": ticket.id, "title": "Opera Gala [/]", "price": "45.00", "currency": "USD"},
    }
    assert _news(market, other) == []
    matched = [e.data for e in market.events(0, 500) if e.subject == "watch:matched"]
    assert matched == [{"watch_id": watch.id, "ticket_id": ticket.id, "round": 0}]


@pytest.mark.parametrize(
    ("search", "title"),
    [
        ("50%", "Opera, 50% off"),  # SQL's wildcards are plain characters in a search
        ("row_1", "Gala row_1"),
        ("a\\b", "Seat a\\b [/]"),  # and so is an escape character
        ("STRASSE", "Konzert Straße"),  # case folded, not lower-cased: ß is ss
        ("ǅ", "ǆ ǅ Ǆ"),  # title case
    ],
)
def test_a_search_is_found_in_titles_with_wildcards_and_folded_case(
    market: LocalApi, search: str, title: str
) -> None:
    """The database picks the watches a title holds: a search's own % _ \\ match only
    themselves, and case is folded as Python folds it, on both stores."""
    seller, watcher = _people(market, "seller", "watcher")
    market.add_watch(watcher, search)
    market.create_ticket(seller, "Nothing like it", "10.00")
    market.create_ticket(seller, title, "10.00")
    assert _listed(market, watcher) == [title]


@pytest.mark.parametrize("titles_per_query", [repository.TITLES_PER_QUERY, 2])
def test_a_run_of_listings_finds_each_its_own_watchers(
    market: LocalApi, monkeypatch: pytest.MonkeyPatch, titles_per_query: int
) -> None:
    """An import's listings are matched together (a chunk of titles per statement): each is
    told to the watchers of its words only, in the order listed."""
    monkeypatch.setattr(repository, "TITLES_PER_QUERY", titles_per_query)
    seller, ann, bob = _people(market, "seller", "ann", "bob")
    market.add_watch(ann, "opera")
    market.add_watch(bob, "ballet")
    market.add_watch(bob, "gala")
    titles = [f"Opera night {n}" if n % 2 else f"Ballet gala {n}" for n in range(7)]
    rows = (ImportRow(line=n + 1, title=t, price="10.00") for n, t in enumerate(titles))
    assert market.import_tickets(seller, rows).created == len(titles)
    assert _listed(market, ann) == [t for t in titles if t.startswith("Opera")]
    assert _listed(market, bob) == [t for t in titles if t.startswith("Ballet")]


def test_a_watch_an_older_version_wrote_without_its_folded_search_is_still_found(
    market: LocalApi,
) -> None:
    """During a rolling upgrade a process of the version before 0015 saves a watch without
    `search_folded`: the column's default (empty, in every title) leaves it to Python."""
    seller, watcher = _people(market, "seller", "watcher")
    watcher_id = market.whoami(watcher).id
    with market._uow.write() as tx:
        tx.conn.execute(
            insert(watches).values(
                id=new_id(), user_id=watcher_id, search="Opera", created_at=tx.now
            )
        )
    market.create_ticket(seller, "Ballet", "10.00")
    market.create_ticket(seller, "OPERA gala", "10.00")
    assert _listed(market, watcher) == ["OPERA gala"]


def test_a_seller_is_not_told_of_their_own_listing(market: LocalApi) -> None:
    [seller] = _people(market, "seller")
    market.add_watch(seller, "opera")
    market.create_ticket(seller, "Opera", "45.00")
    assert _news(market, seller) == []


def test_a_price_drop_into_range_is_announced(market: LocalApi) -> None:
    seller, watcher = _people(market, "seller", "watcher")
    market.add_watch(watcher, "opera", "50.00")
    ticket = market.create_ticket(seller, "Opera", "80.00")
    assert _listed(market, watcher) == []

    market.update_ticket(seller, ticket.id, price="49.00")
    market.update_ticket(seller, ticket.id, price="48.00")  # announced already

    assert _listed(market, watcher) == ["Opera"]


def test_a_ticket_back_on_sale_after_an_order_expired_is_announced(
    market: LocalApi, clock: ManualClock
) -> None:
    seller, buyer, watcher = _people(market, "seller", "buyer", "watcher")
    ticket = market.create_ticket(seller, "Opera", "45.00")
    market.create_order(buyer, ticket.id)
    market.add_watch(watcher, "opera")  # the ticket is reserved: nothing to announce yet
    assert _listed(market, watcher) == []

    clock.advance(61)

    assert _listed(market, watcher) == ["Opera"]
    [(kind, data)] = _news(market, buyer)
    assert (kind, data["title"], data["reason"]) == ("order:expired", "Opera", "expired")


def test_a_resale_is_a_new_listing_and_announced_again(market: LocalApi) -> None:
    seller, buyer, watcher = _people(market, "seller", "buyer", "watcher")
    market.add_watch(watcher, "opera")
    ticket = market.create_ticket(seller, "Opera", "45.00")
    market.pay(buyer, market.create_order(buyer, ticket.id).id, "tok_visa")

    market.resell(buyer, ticket.id, "40.00")

    found = [d["ticket"] for k, d in _news(market, watcher) if k == "watch:matched"]
    assert [(t["id"], t["price"]) for t in found] == [(ticket.id, "45.00"), (ticket.id, "40.00")]


def test_sellers_hear_of_sales_and_payouts(market: LocalApi, clock: ManualClock) -> None:
    seller, buyer = _people(market, "seller", "buyer")
    market.onboard(seller)
    ticket = market.create_ticket(seller, "Opera", "45.00")
    order = market.create_order(buyer, ticket.id)
    market.pay(buyer, order.id, "tok_visa")
    clock.advance(HOUR)
    market.payouts(seller)  # the hold passed: released

    news = _news(market, seller)
    assert [kind for kind, _ in news] == ["ticket:sold", "payout:updated", "payout:updated"]
    assert news[0][1] == {"order_id": order.id, "ticket_id": ticket.id, "title": "Opera"}
    assert [data["status"] for _, data in news[1:]] == ["held", "released"]
    assert _news(market, buyer) == []  # a completed order is no news to its buyer


def test_a_refunded_sale_tells_its_buyer(market: LocalApi) -> None:
    seller, buyer = _people(market, "seller", "buyer")
    ticket = market.create_ticket(seller, "Opera", "45.00")
    order = market.create_order(buyer, ticket.id)
    market.pay(buyer, order.id, "tok_visa")
    market.refund_order(seller, order.id)
    [(kind, data)] = _news(market, buyer)
    assert (kind, data["order_id"], data["reason"]) == ("order:voided", order.id, "refunded")


def test_the_stream_pages_after_a_position(market: LocalApi) -> None:
    seller, watcher = _people(market, "seller", "watcher")
    market.add_watch(watcher, "show")
    for n in range(5):
        market.create_ticket(seller, f"Show {n}", "10.00")
    every = market.notifications(watcher)
    assert [n.seq for n in every] == sorted(n.seq for n in every)
    later = market.notifications(watcher, after=every[1].seq, limit=2)
    assert [n.id for n in later] == [every[2].id, every[3].id]


def test_watches_are_their_user_s_own(market: LocalApi) -> None:
    owner, other = _people(market, "owner", "other")
    watch = market.add_watch(owner, "opera")
    assert market.watches(other) == []
    with pytest.raises(NotFound):
        market.remove_watch(other, watch.id)
    assert [w.id for w in market.watches(owner)] == [watch.id]
    market.remove_watch(owner, watch.id)
    assert market.watches(owner) == []
    with pytest.raises(NotFound):
        market.remove_watch(owner, watch.id)


@pytest.mark.parametrize(
    ("search", "max_price", "currency", "field"),
    [
        ("", None, None, "search"),
        ("   ", None, None, "search"),
        ("x" * 201, None, None, "search"),
        ("bell\x07", None, None, "search"),
        ("nul\x00", None, None, "search"),
        ("opera", "cheap", None, "max_price"),
        ("opera", "-5", None, "max_price"),
        ("opera", "10", "EURO", "currency"),
    ],
)
def test_a_bad_watch_is_refused_and_changes_nothing(
    market: LocalApi, search: str, max_price: str | None, currency: str | None, field: str
) -> None:
    [user] = _people(market, "user")
    with pytest.raises(InvalidInput) as refused:
        market.add_watch(user, search, max_price, currency)
    assert refused.value.items[0].field == field
    assert market.watches(user) == []


def test_a_user_has_a_bounded_number_of_watches(market: LocalApi) -> None:
    [user] = _people(market, "user")
    for n in range(WATCHES_PER_USER):
        market.add_watch(user, f"show {n}")
    with pytest.raises(Conflict, match="remove one first"):
        market.add_watch(user, "one more")
    assert len(market.watches(user)) == WATCHES_PER_USER


def test_an_event_delivered_again_adds_no_news(market: LocalApi) -> None:
    seller, watcher = _people(market, "seller", "watcher")
    market.add_watch(watcher, "opera")
    market.create_ticket(seller, "Opera", "45.00")
    [created] = [e for e in market.events(0, 500) if e.subject == "ticket:created"]
    envelope = Envelope(created.id, created.subject, clock_of(market), created.data)

    def again(tx: Transaction) -> None:
        handlers.on_listing(envelope, tx)

    market.runtime.uow.transact(again)

    assert len(_news(market, watcher)) == 1
    assert len([e for e in market.events(0, 500) if e.subject == "watch:matched"]) == 1


def clock_of(api: LocalApi) -> Any:
    return api.runtime.uow.clock()


def test_each_user_s_stream_is_numbered_on_its_own(market: LocalApi) -> None:
    """A number shared by everyone would let a user count other people's news."""
    seller, early, late = _people(market, "seller", "early", "late")
    market.add_watch(early, "show")
    for n in range(3):
        market.create_ticket(seller, f"Show {n}", "10.00")
    market.add_watch(late, "show")
    market.create_ticket(seller, "Show 3", "10.00")
    assert [n.seq for n in market.notifications(early)] == [1, 2, 3, 4]
    assert [n.seq for n in market.notifications(late)] == [1]
    assert market.mark_notifications_read(late, 1) == 0
    assert market.unread_notifications(early) == 4


def test_a_long_unknown_currency_is_not_echoed_back_whole(market: LocalApi) -> None:
    [user] = _people(market, "user")
    with pytest.raises(InvalidInput) as refused:
        market.add_watch(user, "opera", None, "e" * 10_000)
    assert len(refused.value.message) < 200


def test_a_ticket_given_is_news_to_its_recipient(market: LocalApi) -> None:
    seller, buyer, friend = _people(market, "seller", "buyer", "friend")
    ticket = market.create_ticket(seller, "Opera [/]", "45.00")
    market.pay(buyer, market.create_order(buyer, ticket.id).id, "tok_visa")

    market.transfer(buyer, ticket.id, "friend@example.com")

    assert _news(market, friend) == [
        ("ticket:received", {"ticket_id": ticket.id, "title": "Opera [/]"})
    ]
    assert [kind for kind, _ in _news(market, buyer)] == []
    given = [e.data for e in market.events(0, 500) if e.subject == "ticket:given"]
    assert given == [
        {
            "id": ticket.id,
            "title": "Opera [/]",
            "from_user_id": market.whoami(buyer).id,
            "to_user_id": market.whoami(friend).id,
        }
    ]
