"""`payments reconcile` covers payouts: each payout against the provider's transfers (the
built-in `local` provider's ledger, on both stores). The store and the provider are made to
disagree as they do in life (a store restored from a backup, a transfer made or taken back
by hand at the provider): `--fix` repairs what is safe and flags the rest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from openticket.app.local import LocalApi
from openticket.app.schemas import ReconcileFinding
from openticket.store.db import create_store_engine
from tests.conftest import ManualClock
from tests.integration.test_payouts import HOUR, _people, _sold, _transfers
from tests.modes import on_both_stores  # noqa: F401  (db_url: each test on both)


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api(settings={"platform_fee_setting": "5", "payout_hold_setting": str(HOUR)})


def _change(db_url: str, statement: str) -> None:
    """What happens behind openticket's back (a backup restored, the provider's dashboard)."""
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _released(market: LocalApi, clock: ManualClock) -> str:
    seller, buyer = _people(market, "seller", "buyer")
    market.onboard(seller)
    _sold(market, seller, buyer)
    clock.advance(HOUR)
    [payout] = market.payouts(seller)
    assert payout.status == "released"
    return seller


def _found(market: LocalApi, *, fix: bool = False) -> list[tuple[str, str]]:
    report = market.reconcile_payments(fix=fix)
    return [(f.problem, f.action) for f in report.findings]


def _only(market: LocalApi) -> ReconcileFinding:
    [finding] = market.reconcile_payments().findings
    return finding


def test_payouts_that_agree_with_their_transfers_give_no_finding(
    market: LocalApi, clock: ManualClock
) -> None:
    _released(market, clock)
    report = market.reconcile_payments()
    assert (report.checked, report.payouts_checked, report.findings) == (1, 1, [])


def test_a_payout_released_without_a_transfer_is_released_again(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller = _released(market, clock)
    _change(db_url, "DELETE FROM payments_local_transfers")  # the provider has none
    finding = _only(market)
    assert (finding.payout_id, finding.problem, finding.action) == (
        market.payouts(seller)[0].id,
        "payout released without a transfer",
        "release it again",
    )

    assert market.reconcile_payments(fix=True).fixed == 1

    assert market.payouts(seller)[0].status == "released"
    assert [row[2] for row in _transfers(db_url)] == [1187]  # paid, once
    assert _found(market) == []


def test_a_transfer_for_a_payout_recorded_as_held_is_recorded(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller = _released(market, clock)
    # A backup from before the release (and a hold that had not passed yet, else the next
    # pass itself finds the transfer under its order)
    _change(
        db_url,
        "UPDATE payouts SET status = 'held', transfer_ref = NULL,"
        " release_at = '2099-01-01 00:00:00.000000'",
    )
    assert _found(market) == [("transfer made for a payout recorded as held", "record the release")]

    market.reconcile_payments(fix=True)

    assert market.payouts(seller)[0].status == "released"
    assert len(_transfers(db_url)) == 1  # not paid a second time
    assert _found(market) == []


def test_a_transfer_taken_back_at_the_provider_is_recorded(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller = _released(market, clock)
    _change(db_url, "UPDATE payments_local_transfers SET reversal_id = 'trr_by_hand'")
    assert _found(market) == [("transfer taken back at the provider", "record the reversal")]

    market.reconcile_payments(fix=True)

    assert market.payouts(seller)[0].status == "reversed"
    assert _found(market) == []


def test_a_transfer_kept_for_a_reversed_payout_is_taken_back(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    seller = _released(market, clock)
    _change(db_url, "UPDATE payouts SET status = 'reversed'")
    assert _found(market) == [("transfer kept for a reversed payout", "reverse the transfer")]

    market.reconcile_payments(fix=True)

    [(_key, _account, _amount, _currency, reversal)] = _transfers(db_url)
    assert reversal is not None
    assert market.payouts(seller)[0].status == "reversed"
    assert _found(market) == []


def test_a_different_amount_and_a_stray_transfer_are_flagged_not_fixed(
    market: LocalApi, clock: ManualClock, db_url: str
) -> None:
    _released(market, clock)
    _change(db_url, "UPDATE payments_local_transfers SET amount_minor = 1250")
    _change(
        db_url,
        "INSERT INTO payments_local_transfers (id, idempotency_key, account_ref, amount_minor,"
        " currency, transfer_group, created_at) VALUES ('tr_stray', 'stray', 'acct_x', 500,"
        " 'USD', '" + "f" * 32 + "', '2026-12-01 00:00:00')",
    )
    flagged = "flagged for manual review"
    assert sorted(_found(market)) == [
        ("transfer with no recorded payout", flagged),
        ("transferred 12.50 USD but the payout is 11.87 USD", flagged),
    ]
    before = _transfers(db_url)

    assert market.reconcile_payments(fix=True).fixed == 0

    assert _transfers(db_url) == before
