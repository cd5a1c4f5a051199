"""Races over a ticket someone holds, on PostgreSQL with real parallel transactions: two
buyers for one resale, a resale against a gift. One winner each time, and exactly one valid
code afterwards. The first command is held open inside its transaction by a test hook
(faults.hooked at "<command>:decided"), so the second one really meets it."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from openticket.app.local import LocalApi
from openticket.core.clock import utc_now
from openticket.core.errors import Conflict, DomainError, NotFound
from tests.conftest import PATIENCE_SECONDS
from tests.e2e.test_parallel_writes import held

PASSWORD = "correct horse"


@pytest.fixture
def db_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api(clock=utc_now)


def _held_ticket(market: LocalApi) -> tuple[str, str]:
    """A ticket bought by `holder@example.com`: (its id, the holder's token)."""
    issuer = market.signup("issuer@example.com", PASSWORD).token
    holder = market.signup("holder@example.com", PASSWORD).token
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    order = market.create_order(holder, ticket.id)
    market.pay(holder, order.id, "tok_visa")
    return ticket.id, holder


def _valid_codes(market: LocalApi, ticket_id: str, tokens: list[str]) -> list[str]:
    codes = [e.code for t in tokens for e in market.wallet(t) if e.ticket.id == ticket_id]
    return [c for c in codes if market.verify_code(c).status == "valid"]


def test_two_buyers_race_for_a_resale_and_one_gets_it(market: LocalApi) -> None:
    ticket_id, holder = _held_ticket(market)
    old_code = market.wallet_entry(holder, ticket_id).code
    market.resell(holder, ticket_id, "22.00")
    buyers = [market.signup(f"buyer{n}@example.com", PASSWORD).token for n in range(2)]
    outcomes: list[object] = []

    def second() -> None:
        try:
            outcomes.append(market.create_order(buyers[1], ticket_id))
        except DomainError as error:
            outcomes.append(error)

    with held("reserve:decided", lambda: market.create_order(buyers[0], ticket_id)) as first:
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(2)  # it waits on the first one's lock: still running
        assert racer.is_alive()
    racer.join(PATIENCE_SECONDS)
    won = first["outcome"]
    assert not isinstance(won, Exception), won
    [lost] = outcomes
    assert isinstance(lost, Conflict)
    market.pay(buyers[0], won.id, "tok_visa")
    assert market.verify_code(old_code).status == "revoked"
    assert len(_valid_codes(market, ticket_id, [holder, *buyers])) == 1
    assert [e.ticket.id for e in market.wallet(buyers[0])] == [ticket_id]
    assert market.wallet(buyers[1]) == []


def test_a_resale_and_a_gift_at_once_one_wins(market: LocalApi) -> None:
    ticket_id, holder = _held_ticket(market)
    friend = market.signup("friend@example.com", PASSWORD).token
    outcomes: list[object] = []

    def give() -> None:
        try:
            outcomes.append(market.transfer(holder, ticket_id, "friend@example.com"))
        except DomainError as error:
            outcomes.append(error)

    with held("resell:decided", lambda: market.resell(holder, ticket_id, "21.00")) as resale:
        racer = threading.Thread(target=give)
        racer.start()
        racer.join(2)
        assert racer.is_alive()  # the gift waits for the resale's lock on the ticket
    racer.join(PATIENCE_SECONDS)
    assert resale["outcome"].status == "available"
    [refused] = outcomes
    assert isinstance(refused, Conflict) and "listed for resale" in refused.message
    assert market.wallet(friend) == []
    assert len(_valid_codes(market, ticket_id, [holder, friend])) == 1

    market.cancel_resale(holder, ticket_id)
    resold: list[object] = []
    gift = lambda: market.transfer(holder, ticket_id, "friend@example.com")  # noqa: E731
    with held("transfer:decided", gift) as given:
        racer = threading.Thread(
            target=lambda: resold.append(_attempt(market.resell, holder, ticket_id, "21.00"))
        )
        racer.start()
        racer.join(2)
        assert racer.is_alive()  # the resale waits for the gift's lock
    racer.join(PATIENCE_SECONDS)
    assert given["outcome"].id == ticket_id
    [refused_resale] = resold
    assert isinstance(refused_resale, NotFound)  # the holder no longer holds it
    assert [e.ticket.id for e in market.wallet(friend)] == [ticket_id]
    assert len(_valid_codes(market, ticket_id, [holder, friend])) == 1


def _attempt(action: Callable[..., object], *args: object) -> object:
    try:
        return action(*args)
    except DomainError as error:
        return error
