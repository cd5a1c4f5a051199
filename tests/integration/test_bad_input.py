"""Bad input is a clean refusal that changes nothing, on SQLite and PostgreSQL: lone surrogates
and NULs wherever text enters, ids that cannot exist, card tokens past the column, JSON values
of the wrong type in an import, look-alike emails, and an import that fails in its last batch
leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from openticket.app.local import LocalApi
from openticket.bootstrap import Overrides, bootstrap
from openticket.config import Settings
from openticket.core import faults
from openticket.core.auth.passwords import Argon2Hasher
from openticket.core.errors import Conflict, DomainError, InvalidInput, NotFound
from openticket.core.tickets.model import ImportRow
from tests.conftest import ManualClock, postgres_database

SURROGATE = "\ud800"
PASSWORD = "long enough"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'market.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def market(store_url: str, tmp_path: Path) -> Iterator[LocalApi]:
    settings = Settings(home=tmp_path / "home", db_url=store_url)
    api = bootstrap(settings, Overrides(clock=ManualClock(), hasher=Argon2Hasher.cheap()))
    yield api
    api.close()


def _snapshot(api: LocalApi) -> dict[str, list[Any]]:
    """Every row of the marketplace's tables, to show a refusal changed nothing."""
    engine = api._uow.engine
    names = ["auth_users", "tickets", "orders", "payments", "outbox", "idempotency_keys"]
    with engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {name}"))), key=repr)
            for name in names
        }


def _refused(api: LocalApi, call: Callable[[], object], kind: type[DomainError]) -> None:
    before = _snapshot(api)
    with pytest.raises(kind):
        call()
    assert _snapshot(api) == before


def test_text_that_no_column_can_hold_is_refused_where_it_arrives(market: LocalApi) -> None:
    seller = market.signup("seller@example.com", PASSWORD)
    buyer = market.signup("buyer@example.com", PASSWORD)
    ticket = market.create_ticket(seller.token, "Opera", "20")
    order = market.create_order(buyer.token, ticket.id)
    spare = market.create_ticket(seller.token, "Spare", "20")
    for bad in (SURROGATE, "\x00"):
        _refused(market, lambda b=bad: market.signup(f"x{b}y@example.com", PASSWORD), InvalidInput)
        _refused(market, lambda b=bad: market.signup(f"n{ord(b)}@example.com", b * 9), InvalidInput)
        _refused(market, lambda b=bad: market.signin("seller@example.com", b * 9), InvalidInput)
        _refused(market, lambda b=bad: market.signin(f"a{b}@example.com", PASSWORD), InvalidInput)
        _refused(
            market, lambda b=bad: market.create_ticket(seller.token, f"T{b}", "5"), InvalidInput
        )
        _refused(
            market,
            lambda b=bad: market.update_ticket(seller.token, spare.id, title=f"T{b}"),
            InvalidInput,
        )
        _refused(
            market, lambda b=bad: market.create_ticket(seller.token, "T", "5", b), InvalidInput
        )
        _refused(market, lambda b=bad: market.get_ticket(f"{ticket.id}{b}"), NotFound)
        _refused(market, lambda b=bad: market.create_order(buyer.token, b), NotFound)
        _refused(market, lambda b=bad: market.get_order(buyer.token, b + order.id), NotFound)
        _refused(market, lambda b=bad: market.cancel_order(buyer.token, b), NotFound)
        _refused(market, lambda b=bad: market.pay(buyer.token, f"{b}x", "tok_visa"), NotFound)
        _refused(market, lambda b=bad: market.pay(buyer.token, order.id, f"tok_{b}"), InvalidInput)
        _refused(market, lambda b=bad: market.list_tickets(search=f"a{b}"), InvalidInput)
    _refused(market, lambda: market.pay(buyer.token, order.id, "tok_" + "v" * 300), InvalidInput)
    _refused(market, lambda: market.list_tickets(offset=2**70), InvalidInput)
    _refused(market, lambda: market.events(after=2**70), InvalidInput)
    assert market.pay(buyer.token, order.id, "tok_visa").status == "succeeded"  # still payable


def test_look_alike_emails_cannot_register(market: LocalApi) -> None:
    market.signup("owner@example.com", PASSWORD)
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in "owner") + "@example.com"
    _refused(market, lambda: market.signup(full_width, PASSWORD), Conflict)
    assert market.signin(full_width, PASSWORD).user.email == "owner@example.com"
    for look_alike in ("ow\u202ener@example.com", "own\u200der@example.com", "\u2066o@example.com"):
        _refused(market, lambda e=look_alike: market.signup(e, PASSWORD), InvalidInput)


def _rows(*records: dict[str, Any]) -> Iterator[ImportRow]:
    for line, record in enumerate(records, start=2):
        yield ImportRow(line=line, **record)


def test_import_values_of_the_wrong_type_are_refused(market: LocalApi) -> None:
    seller = market.signup("seller@example.com", PASSWORD)
    rows = _rows(
        {"title": ["x"], "price": "5"},
        {"title": "Bool price", "price": True},
        {"title": "Arabic digits", "price": "\u0661\u0660"},
        {"title": "Trailing point", "price": "10."},
        {"title": "Leading point", "price": ".5"},
        {"title": f"Lone {SURROGATE}", "price": "5"},
        {"title": "Fine", "price": "5", "external_id": f"id{SURROGATE}"},
        {"title": "Number id", "price": 7.5, "external_id": 12345},
    )
    before = _snapshot(market)
    report = market.import_tickets(seller.token, rows)
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "title"),
        (3, "price"),
        (4, "price"),
        (5, "price"),
        (6, "price"),
        (7, "title"),
        (8, "external_id"),
    ]
    assert report.created == 0 and _snapshot(market) == before
    kept = market.import_tickets(
        seller.token, _rows({"title": "N", "price": 7.5, "external_id": 1})
    )
    assert kept.created == 1
    [listing] = market.list_tickets(seller.token, mine=True)
    assert (listing.title, listing.price) == ("N", "7.50")


def test_an_import_that_fails_in_its_last_batch_writes_nothing(market: LocalApi) -> None:
    seller = market.signup("seller@example.com", PASSWORD)
    market.create_ticket(seller.token, "Already listed", "5")
    rows = _rows(*({"title": f"Seat {n}", "price": "5"} for n in range(25_000)))
    before = _snapshot(market)
    with faults.armed("import:batch-written@3=raise"), pytest.raises(faults.InjectedFault):
        market.import_tickets(seller.token, rows)  # batches of 10,000: the third is the last
    assert _snapshot(market) == before
    assert [t.title for t in market.list_tickets(limit=10)] == ["Already listed"]
