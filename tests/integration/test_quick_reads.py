"""The CLI's quick path (openticket/quick.py) answers `tickets list` exactly as the Api does,
and only when nothing is due; its SQL is the store's own, compiled ahead."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openticket.app.local import LocalApi
from openticket.bootstrap import Overrides, bootstrap
from openticket.config import Settings
from openticket.core.auth.passwords import Argon2Hasher
from openticket.core.tickets.model import SORTS
from openticket.core.tickets.query import TicketQuery
from openticket.quick import ticket_listing
from openticket.store import quick_sql_gen
from tests.conftest import ManualClock

TITLE_LETTERS = "aAbB %_\\é"


def test_the_compiled_sql_is_the_store_s_own() -> None:
    """Regenerate it: a change to a query that quick_sql.py was not regenerated for fails."""
    assert quick_sql_gen.TARGET.read_text(encoding="utf-8") == quick_sql_gen.generate()


class Store:
    def __init__(self, root: Path) -> None:
        self.clock = ManualClock()
        self.path = root / "market.db"
        self.settings = Settings(home=root / "home", db_url=f"sqlite:///{self.path}")
        overrides = Overrides(clock=self.clock, hasher=Argon2Hasher.cheap())
        self.api: LocalApi = bootstrap(self.settings, overrides)

    def quick(self, query: TicketQuery) -> list[dict[str, object]] | None:
        return ticket_listing(self.settings, query, now=self.clock())

    def full(self, query: TicketQuery) -> list[dict[str, object]]:
        found = self.api.list_tickets(
            search=query.search, limit=query.limit, offset=query.offset, sort=query.sort
        )
        return [ticket.model_dump(mode="json") for ticket in found]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Sellers with and without display names; titles that are LIKE wildcards and differ
    only in case; several currencies; reserved and sold tickets (not listed)."""
    made = Store(tmp_path_factory.mktemp("quick"))
    api = made.api
    ada = api.signup("ada@example.com", "long enough", "Ada")
    bob = api.signup("bob@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    titles = ["a%b", "A_b", "ab", "aB", "b\\a", "é a", "  b", "_", "%", "Ab"]
    prices = [("10", "USD"), ("4500", "JPY"), ("42", "EUR"), ("9.99", "USD"), ("10", "EUR")]
    for n, title in enumerate(titles * 2):
        seller = ada if n % 3 else bob
        price, currency = prices[n % len(prices)]
        made.clock.advance(1)
        ticket = api.create_ticket(seller.token, title, price, currency)
        if n % 7 == 3:
            api.create_order(buyer.token, ticket.id)  # reserved
        if n % 7 == 5:
            order = api.create_order(buyer.token, ticket.id)
            api.pay(buyer.token, order.id, "tok_visa")  # sold
    yield made
    api.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sort=st.sampled_from(SORTS),
    search=st.none() | st.text(TITLE_LETTERS, min_size=1, max_size=3),
    limit=st.integers(1, 25),
    offset=st.integers(0, 30),
)
def test_the_quick_path_answers_as_the_api(
    store: Store, sort: str, search: str | None, limit: int, offset: int
) -> None:
    query = TicketQuery(search=search, limit=limit, offset=offset, sort=sort)
    assert store.quick(query) == store.full(query)


def test_the_store_lists_enough_to_compare(store: Store) -> None:
    listed = store.quick(TicketQuery(limit=100))
    assert listed is not None and len(listed) >= 10
    assert {ticket["seller"] for ticket in listed} == {"Ada", "bob"}
    assert {ticket["currency"] for ticket in listed} == {"USD", "EUR", "JPY"}


def test_anything_due_leaves_it_to_the_api(tmp_path: Path) -> None:
    made = Store(tmp_path)
    api = made.api
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Matinee", "10")
    api.create_order(buyer.token, ticket.id)
    everything = TicketQuery()
    assert made.quick(everything) == []  # reserved, and nothing due yet

    made.clock.advance(901)  # the order's window has passed: a read would expire it first
    assert made.quick(everything) is None
    assert [t["id"] for t in made.full(everything)] == [ticket.id]  # ...which the Api does
    assert made.quick(everything) == made.full(everything)

    with sqlite3.connect(made.path) as conn:  # an event a crashed process left undelivered
        conn.execute(
            "UPDATE outbox SET delivered_at = NULL WHERE seq = (SELECT max(seq) FROM outbox)"
        )
    assert made.quick(everything) is None
    made.full(everything)
    assert made.quick(everything) is not None
    api.close()


def test_only_an_embedded_sqlite_store_with_the_in_process_bus(tmp_path: Path) -> None:
    made = Store(tmp_path)
    query = TicketQuery()
    assert made.quick(query) == []
    for elsewhere in (
        replace(made.settings, server="http://127.0.0.1:8000"),
        replace(made.settings, bus_url="nats://127.0.0.1:4222"),
        replace(made.settings, db_url="postgresql+psycopg://localhost/openticket"),
        replace(made.settings, db_url=f"sqlite:///{tmp_path / 'missing.db'}"),
    ):
        assert ticket_listing(elsewhere, query) is None
    with sqlite3.connect(made.path) as conn:  # a store of another revision: migrate first
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
    assert made.quick(query) is None
    made.api.close()
    assert not (tmp_path / "missing.db").exists()  # it looked, and created nothing


def test_bad_queries_are_refused_the_same(tmp_path: Path) -> None:
    made = Store(tmp_path)
    from openticket.core.errors import InvalidInput

    for bad in (TicketQuery(limit=0), TicketQuery(sort="seller"), TicketQuery(search="x" * 201)):
        with pytest.raises(InvalidInput) as quick:
            made.quick(bad)
        with pytest.raises(InvalidInput) as full:
            made.full(bad)
        assert quick.value.items == full.value.items
    made.api.close()
