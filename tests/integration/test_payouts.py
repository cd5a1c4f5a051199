"""Sellers get paid, through the Api in process with the built-in `local` provider: a sale
owes its seller the price less the platform's fee, held until the ticket is checked in or the
hold passes, then transferred once to the seller's payout account (made by onboarding)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from openticket.app.local import LocalApi
from openticket.core import faults
from openticket.core.clock import isoformat_utc
from openticket.core.errors import Conflict, NotFound, NotSignedIn
from openticket.core.ids import new_id
from openticket.core.money import Money
from openticket.core.payments.model import OrderReplica
from openticket.core.payments.payouts import service as payouts
from openticket.core.payments.payouts.model import PayoutTerms
from openticket.core.ports import Transaction
from openticket.store.db import create_store_engine
from tests.conftest import ManualClock
from tests.modes import on_both_stores  # noqa: F401  (db_url: each test on both)

PASSWORD = "correct horse"
HOUR = 3600


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api(
        settings={"platform_fee_setting": "5", "payout_hold_setting": str(HOUR)},
    )


def _people(api: LocalApi, *names: str) -> list[str]:
    return [api.signup(f"{name}@example.com", PASSWORD).token for name in names]


def _sold(api: LocalApi, seller: str, buyer: str, price: str = "12.50") -> str:
    ticket = api.create_ticket(seller, "Gig", price)
    api.pay(buyer, api.create_order(buyer, ticket.id).id, "tok_visa")
    return ticket.id


def _rows(db_url: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_store_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def _transfers(db_url: str) -> list[tuple[Any, ...]]:
    """The `local` provider's transfers to sellers."""
    return _rows(
        db_url,
        "SELECT idempotency_key, account_ref, amount_minor, currency, reversal_id"
        " FROM payments_local_transfers ORDER BY created_at",
    )


def _statuses(db_url: str) -> list[str]:
    """The payouts' stored statuses (the contract shows `releasing` as held)."""
    return [row[0] for row in _rows(db_url, "SELECT status FROM payouts ORDER BY created_at")]


def test_a_sale_owes_its_seller_the_price_less_the_fee_held_for_the_hold(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller, buyer = _people(market, "seller", "buyer")
    sold_at = clock()
    ticket_id = _sold(market, seller, buyer)

    [payout] = market.payouts(seller)
    assert (payout.ticket_id, payout.gross, payout.fee, payout.net, payout.currency) == (
        ticket_id,
        "12.50",
        "0.63",  # 5 % of 12.50 is 0.625: half up
        "11.87",
        "USD",
    )
    assert payout.status == "held"
    assert payout.release_at == isoformat_utc(sold_at + timedelta(hours=1))
    assert market.payouts(buyer) == []
    order = market.list_orders(buyer)[0]
    assert payout.order_id == order.id

    clock.advance(HOUR - 1)
    assert market.payouts(seller)[0].status == "held"
    clock.advance(1)
    # Due, but the seller has no payout account yet: it waits for one.
    assert market.payouts(seller)[0].status == "held"
    assert _transfers(db_url) == []
    account = market.onboard(seller)
    assert (account.onboarded, account.provider, account.payouts_enabled) == (True, "local", True)
    assert market.payouts(seller)[0].status == "released"
    assert _transfers(db_url) == [(f"payout-{payout.id}", account.account_id, 1187, "USD", None)]
    market.onboard(seller)  # again: the same account, nothing paid twice
    assert market.payout_account(seller) == account
    assert len(_transfers(db_url)) == 1


def test_a_checked_in_ticket_releases_its_payout_at_once(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller, buyer = _people(market, "seller", "buyer")
    market.onboard(seller)
    ticket_id = _sold(market, seller, buyer)
    assert market.payouts(seller)[0].status == "held"
    market.check_in(seller, market.wallet_entry(buyer, ticket_id).code)
    [payout] = market.payouts(seller)
    assert payout.status == "released"
    assert [row[2] for row in _transfers(db_url)] == [1187]


def test_a_resale_pays_its_reseller_and_the_first_sale_its_issuer(
    market: LocalApi, clock: ManualClock
) -> None:
    issuer, holder, buyer = _people(market, "issuer", "holder", "buyer")
    ticket_id = _sold(market, issuer, holder, "20.00")
    market.resell(holder, ticket_id, "22.00")
    market.pay(buyer, market.create_order(buyer, ticket_id).id, "tok_visa")
    assert [(p.gross, p.fee, p.net) for p in market.payouts(holder)] == [("22.00", "1.10", "20.90")]
    assert [(p.gross, p.net) for p in market.payouts(issuer)] == [("20.00", "19.00")]


def test_no_hold_releases_as_soon_as_the_sale_completes(
    make_api: Callable[..., LocalApi], db_url: str
) -> None:
    market = make_api(settings={"payout_hold_setting": "0", "platform_fee_setting": "2.9"})
    seller, buyer = _people(market, "seller", "buyer")
    market.onboard(seller)
    _sold(market, seller, buyer, "10.00")
    [payout] = market.payouts(seller)
    assert (payout.status, payout.fee, payout.net) == ("released", "0.29", "9.71")


def _released_sale(market: LocalApi, clock: ManualClock) -> str:
    """An onboarded seller's sale whose hold has passed: the seller's token."""
    seller, buyer = _people(market, "seller", "buyer")
    market.onboard(seller)
    _sold(market, seller, buyer)
    clock.advance(HOUR)
    return seller


def test_a_release_cut_short_after_the_transfer_is_finished_without_paying_twice(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller = _released_sale(market, clock)
    with faults.armed("payout:transferred=raise"):
        market.runtime.settle_payouts()  # logged, never the error of the command it follows
    assert _statuses(db_url) == ["releasing"]  # transferred, not recorded
    assert len(_transfers(db_url)) == 1
    [payout] = market.payouts(seller)  # a read catches up first: the release is finished
    assert payout.status == "released"
    assert _statuses(db_url) == ["released"]
    assert len(_transfers(db_url)) == 1


def test_payouts_are_the_seller_s_own(market: LocalApi) -> None:
    with pytest.raises(NotSignedIn):
        market.payouts(None)
    with pytest.raises(NotSignedIn):
        market.onboard("not a token")


def _payments_of(db_url: str, order_id: str) -> list[str]:
    return [
        row[0]
        for row in _rows(db_url, f"SELECT status FROM payments WHERE order_id = '{order_id}'")
    ]


def test_a_seller_refunds_a_sale_before_release_and_gets_the_ticket_back(
    market: LocalApi, db_url: str
) -> None:
    seller, buyer = _people(market, "seller", "buyer")
    ticket_id = _sold(market, seller, buyer)
    order_id = market.list_orders(buyer)[0].id
    buyer_code = market.wallet_entry(buyer, ticket_id).code

    refunded = market.refund_order(seller, order_id)

    assert (refunded.id, refunded.status) == (order_id, "refunded")
    assert [o.status for o in market.list_orders(buyer)] == ["refunded"]
    assert _payments_of(db_url, order_id) == ["refunded"]  # the charge given back
    assert [p.status for p in market.payouts(seller)] == ["reversed"]
    assert _transfers(db_url) == []  # nothing had moved, nothing moves
    assert market.wallet(buyer) == []
    assert market.verify_code(buyer_code).status == "revoked"
    back = market.wallet_entry(seller, ticket_id)
    assert market.verify_code(back.code).status == "valid"
    assert (back.ticket.status, back.ticket.owner_id) == ("sold", market.whoami(seller).id)
    assert back.resale_cap == "13.75"  # 110 % of the price it sold at
    history = [(t.role, t.kind, t.price) for t in market.transfers(buyer)]
    assert history == [("to", "sale", "12.50"), ("from", "refund", "12.50")]
    relisted = market.resell(seller, ticket_id, "13.00")  # theirs to sell again
    assert relisted.status == "available"


def test_a_refund_after_release_takes_the_transfer_back(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller = _released_sale(market, clock)
    [payout] = market.payouts(seller)
    assert payout.status == "released"
    market.refund_order(seller, payout.order_id)
    assert [p.status for p in market.payouts(seller)] == ["reversed"]
    announced = [
        e.data["status"]
        for e in market.events(after=0, limit=1000)
        if e.subject == "payout:updated" and e.data["order_id"] == payout.order_id
    ]
    assert announced == ["held", "released", "reversed"]  # each change the seller can see
    [(key, _account, amount, _currency, reversal)] = _transfers(db_url)
    assert (key, amount) == (f"payout-{payout.id}", 1187)
    assert reversal is not None
    assert _statuses(db_url) == ["reversed"]


def test_a_reseller_s_refund_gives_the_ticket_back_on_their_own_terms(
    market: LocalApi,
) -> None:
    issuer, holder, buyer = _people(market, "issuer", "holder", "buyer")
    ticket_id = _sold(market, issuer, holder, "20.00")
    market.resell(holder, ticket_id, "22.00")
    market.pay(buyer, market.create_order(buyer, ticket_id).id, "tok_visa")
    resale = next(o for o in market.list_orders(buyer))
    market.refund_order(holder, resale.id)
    entry = market.wallet_entry(holder, ticket_id)
    # The cap is still 110 % of what the holder paid, not of the refunded resale's price.
    assert (entry.paid, entry.resale_cap) == ("20.00", "22.00")
    assert [(p.gross, p.status) for p in market.payouts(holder)] == [("22.00", "reversed")]
    assert [p.status for p in market.payouts(issuer)] == ["held"]  # the first sale stands


def test_what_cannot_be_refunded_is_refused_and_changes_nothing(
    market: LocalApi, db_url: str
) -> None:
    seller, buyer, stranger, friend = _people(market, "seller", "buyer", "stranger", "friend")
    ticket_id = _sold(market, seller, buyer)
    order_id = market.list_orders(buyer)[0].id
    with pytest.raises(NotFound):  # as if there were no such order: ids are no one's business
        market.refund_order(stranger, order_id)
    with pytest.raises(NotFound):
        market.refund_order(buyer, order_id)  # the buyer is no seller
    for odd in ("", ".", "0" * 32, order_id.upper(), "x" * 500):
        with pytest.raises(NotFound):
            market.refund_order(seller, odd)
    market.resell(buyer, ticket_id, "12.00")
    with pytest.raises(Conflict, match="listed"):
        market.refund_order(seller, order_id)
    market.cancel_resale(buyer, ticket_id)
    code = market.wallet_entry(buyer, ticket_id).code
    market.check_in(seller, code)
    with pytest.raises(Conflict, match="checked in"):
        market.refund_order(seller, order_id)
    assert [o.status for o in market.list_orders(buyer)] == ["complete"]
    assert _payments_of(db_url, order_id) == ["succeeded"]

    other = _sold(market, seller, buyer, "30.00")
    gift_order = next(o.id for o in market.list_orders(buyer) if o.ticket_id == other)
    market.transfer(buyer, other, "friend@example.com")
    with pytest.raises(Conflict, match="no longer holds"):
        market.refund_order(seller, gift_order)
    assert market.wallet_entry(friend, other).ticket.id == other


def test_a_payout_that_is_all_fee_is_released_without_a_transfer(
    make_api: Callable[..., LocalApi], db_url: str
) -> None:
    market = make_api(settings={"payout_hold_setting": "0", "platform_fee_setting": "100"})
    seller, buyer = _people(market, "seller", "buyer")
    market.onboard(seller)
    _sold(market, seller, buyer, "10.00")
    [payout] = market.payouts(seller)
    assert (payout.status, payout.fee, payout.net) == ("released", "10.00", "0.00")
    assert _transfers(db_url) == []  # nothing to move: no transfer of zero


def test_a_sale_heard_of_after_its_ticket_s_check_in_is_due_at_once(
    market: LocalApi, clock: ManualClock
) -> None:
    """Scaled out, payments may hear of the check-in (from tickets) before the sale's
    completion (from orders): the payout is due from the check-in all the same."""
    order = OrderReplica(
        id=new_id(),
        user_id=new_id(),
        price=Money(1250, "USD"),
        status="complete",
        expires_at=clock(),
        version=2,
        seller_id=new_id(),
        ticket_id=new_id(),
    )
    assert order.ticket_id is not None
    checked_in_at = clock() - timedelta(minutes=5)
    terms = PayoutTerms(Decimal(5), timedelta(hours=1))

    def heard_in_that_order(tx: Transaction) -> None:
        payouts.on_checked_in(tx, order.ticket_id or "", checked_in_at)
        payouts.on_checked_in(tx, order.ticket_id or "", checked_in_at)  # redelivered
        payouts.on_order_completed(tx, order, terms)

    market.runtime.uow.transact(heard_in_that_order)

    with market.runtime.uow.read() as tx:
        [payout] = payouts.payouts_of(tx, order.seller_id or "")
    # Due since the check-in (released by the next pass once its seller can be paid), not
    # an hour after the sale
    assert (payout.status, payout.release_at) == ("held", checked_in_at)
