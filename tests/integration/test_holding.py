"""Tickets people hold, through the Api in process: a sale makes the buyer the holder with a
signed code; resale (capped), gifts, verification and check-in keep exactly one valid code."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from openticket.app.local import LocalApi
from openticket.core.errors import Conflict, Forbidden, InvalidInput, NotFound, NotSignedIn
from tests.conftest import ManualClock
from tests.modes import on_both_stores  # noqa: F401  (db_url: each test on both)

PASSWORD = "correct horse"


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api()


def _people(api: LocalApi, *names: str) -> list[str]:
    return [api.signup(f"{name}@example.com", PASSWORD).token for name in names]


def _bought(api: LocalApi, buyer: str, ticket_id: str) -> None:
    order = api.create_order(buyer, ticket_id)
    api.pay(buyer, order.id, "tok_visa")


def test_a_paid_order_puts_the_ticket_in_the_buyer_s_wallet_with_a_valid_code(
    market: LocalApi,
) -> None:
    issuer, buyer = _people(market, "issuer", "buyer")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    assert market.wallet(buyer) == []
    _bought(market, buyer, ticket.id)
    [entry] = market.wallet(buyer)
    assert (entry.ticket.id, entry.paid, entry.currency, entry.checked_in_at) == (
        ticket.id,
        "20.00",
        "USD",
        None,
    )
    assert entry.ticket.status == "sold" and entry.ticket.resale is False
    assert market.wallet_entry(buyer, ticket.id) == entry
    verdict = market.verify_code(entry.code)
    assert (verdict.status, verdict.ticket_id, verdict.title) == ("valid", ticket.id, "Gig")
    with pytest.raises(NotFound):
        market.wallet_entry(issuer, ticket.id)  # the issuer sold it: not theirs to show


def test_resale_is_capped_and_the_next_sale_revokes_the_seller_s_code(market: LocalApi) -> None:
    issuer, first, second = _people(market, "issuer", "first", "second")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, first, ticket.id)
    old_code = market.wallet_entry(first, ticket.id).code
    with pytest.raises(InvalidInput, match=r"resale cap of 22\.00 USD"):
        market.resell(first, ticket.id, "22.01")
    listed = market.resell(first, ticket.id, "22.00")
    assert (listed.status, listed.price, listed.resale) == ("available", "22.00", True)
    assert market.verify_code(old_code).status == "valid"  # still theirs while listed
    _bought(market, second, ticket.id)
    assert market.wallet(first) == []
    entry = market.wallet_entry(second, ticket.id)
    assert (entry.paid, entry.code != old_code) == ("22.00", True)
    assert market.verify_code(old_code).status == "revoked"
    assert market.verify_code(entry.code).status == "valid"
    chain = [(t.role, t.kind, t.price) for t in market.transfers(first)]
    assert chain == [("to", "sale", "20.00"), ("from", "sale", "22.00")]


def test_a_tampered_or_foreign_code_is_invalid(market: LocalApi) -> None:
    issuer, buyer = _people(market, "issuer", "buyer")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, buyer, ticket.id)
    code = market.wallet_entry(buyer, ticket.id).code
    flipped = code[:40] + ("A" if code[40] != "A" else "B") + code[41:]
    for bad in (flipped, code[:-1], "not a code", code + "A"):
        assert market.verify_code(bad).status == "invalid"
    with pytest.raises(InvalidInput):
        market.verify_code("   ")


def test_check_in_once_by_the_issuer_or_their_staff(market: LocalApi, clock: ManualClock) -> None:
    issuer, buyer, helper, stranger = _people(market, "issuer", "buyer", "helper", "stranger")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, buyer, ticket.id)
    code = market.wallet_entry(buyer, ticket.id).code
    with pytest.raises(Forbidden):
        market.check_in(stranger, code)
    with pytest.raises(Forbidden):
        market.check_in(helper, code)
    market.add_checkin_staff(issuer, "helper@example.com")
    done = market.check_in(helper, code, idempotency_key="scan-1")
    assert done.ticket_id == ticket.id
    assert market.check_in(helper, code, idempotency_key="scan-1") == done  # a repeated send
    clock.advance(5)
    with pytest.raises(Conflict, match="already checked in at"):
        market.check_in(issuer, code)
    verdict = market.verify_code(code)
    assert (verdict.status, verdict.checked_in_at) == ("used", done.checked_in_at)
    with pytest.raises(Conflict):
        market.resell(buyer, ticket.id, "20.00")
    with pytest.raises(Conflict):
        market.transfer(buyer, ticket.id, "stranger@example.com")


def test_a_removed_helper_checks_in_nothing_more(market: LocalApi) -> None:
    issuer, buyer, helper, other = _people(market, "issuer", "buyer", "helper", "other")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, buyer, ticket.id)
    code = market.wallet_entry(buyer, ticket.id).code
    added = market.add_checkin_staff(issuer, "helper@example.com")
    market.add_checkin_staff(other, "helper@example.com")
    assert market.checkin_staff(issuer) == [added]
    assert market.remove_checkin_staff(issuer, "Helper@Example.com").email == "helper@example.com"
    assert market.checkin_staff(issuer) == []
    assert [m.staff.email for m in market.checkin_staff(other)] == ["helper@example.com"]
    with pytest.raises(Forbidden):
        market.check_in(helper, code)
    with pytest.raises(NotFound):
        market.remove_checkin_staff(issuer, "helper@example.com")
    with pytest.raises(NotSignedIn):
        market.checkin_staff(None)


def test_a_gift_moves_the_ticket_and_keeps_the_cap_base(market: LocalApi) -> None:
    issuer, giver, friend = _people(market, "issuer", "giver", "friend")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, giver, ticket.id)
    old_code = market.wallet_entry(giver, ticket.id).code
    market.transfer(giver, ticket.id, "friend@example.com")
    entry = market.wallet_entry(friend, ticket.id)
    assert entry.paid == "0.00"
    assert market.verify_code(old_code).status == "revoked"
    assert market.verify_code(entry.code).status == "valid"
    with pytest.raises(InvalidInput, match=r"resale cap of 22\.00"):
        market.resell(friend, ticket.id, "25.00")
    with pytest.raises(NotFound):
        market.transfer(friend, ticket.id, "nobody@example.com")
    market.resell(friend, ticket.id, "21.00")
    with pytest.raises(Conflict, match="listed for resale"):
        market.transfer(friend, ticket.id, "giver@example.com")
    withdrawn = market.cancel_resale(friend, ticket.id)
    assert withdrawn.status == "sold"
    with pytest.raises(Conflict, match="sold"):
        market.create_order(giver, ticket.id)  # off sale again


def test_the_revocation_list_names_revoked_and_used_codes(market: LocalApi) -> None:
    issuer, first, second = _people(market, "issuer", "first", "second")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, first, ticket.id)
    start = market.code_changes().last
    market.transfer(first, ticket.id, "second@example.com")
    market.check_in(issuer, market.wallet_entry(second, ticket.id).code)
    found = market.code_changes(after=start)
    assert [(c.ticket_id, c.serial, c.status) for c in found.changes] == [
        (ticket.id, 1, "revoked"),
        (ticket.id, 2, "used"),
    ]
    assert market.code_changes(after=found.last).changes == []
    [key] = market.code_keys().keys
    assert len(key.kid) == 16


def test_a_new_code_key_keeps_earlier_codes_valid_unless_all_are_revoked(
    market: LocalApi,
) -> None:
    issuer, buyer = _people(market, "issuer", "buyer")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, buyer, ticket.id)
    before = market.wallet_entry(buyer, ticket.id).code
    first_kid = market.code_keys().keys[0].kid
    rotation = market.rotate_code_key()
    after = market.wallet_entry(buyer, ticket.id).code
    assert after != before and rotation.kid != first_kid
    assert [k.kid for k in market.code_keys().keys] == [rotation.kid, first_kid]
    assert market.verify_code(before).status == "valid"
    assert market.verify_code(after).status == "valid"
    market.rotate_code_key(revoke_all=True)
    assert market.verify_code(before).status == "invalid"
    assert market.verify_code(after).status == "invalid"
    assert market.verify_code(market.wallet_entry(buyer, ticket.id).code).status == "valid"


def test_a_resale_keeps_the_issuer_s_title_and_its_price_stays_capped(market: LocalApi) -> None:
    issuer, first = _people(market, "issuer", "first")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, first, ticket.id)
    market.resell(first, ticket.id, "20.00")
    for change in ({"price": "5000"}, {"title": "Backstage VIP"}, {"currency": "JPY"}):
        with pytest.raises(Forbidden, match="resell"):
            market.update_ticket(first, ticket.id, **change)
    assert market.resell(first, ticket.id, "21.50").price == "21.50"  # a new price, listed
    with pytest.raises(InvalidInput, match="cap"):
        market.resell(first, ticket.id, "30.00")
    listed = market.get_ticket(ticket.id)
    assert (listed.title, listed.price, listed.currency) == ("Gig", "21.50", "USD")


def test_refusals_come_in_a_safe_order(market: LocalApi) -> None:
    issuer, buyer = _people(market, "issuer", "buyer")
    ticket = market.create_ticket(issuer, "Gig", "20.00")
    _bought(market, buyer, ticket.id)
    assert market.verify_code("A" * 5000).status == "invalid"
    with pytest.raises(NotSignedIn):
        market.check_in(None, "not a code")  # who asks, before what they ask
    with pytest.raises(NotFound, match="do not hold"):  # not "no such account": no probing
        market.transfer(issuer, ticket.id, "nobody@example.com")
    with pytest.raises(InvalidInput, match="Email must be valid"):
        market.transfer(buyer, ticket.id, "not an email")
    [mine] = market.transfers(buyer)
    assert (mine.title, mine.other, mine.kind) == ("Gig", "issuer", "sale")
