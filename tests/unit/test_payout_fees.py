"""The platform's fee on a sale: a percentage of the price, rounded half up to the currency's
minor unit (none for JPY), never more than the price; the seller gets the rest. And the
settings of payouts and Stripe's webhooks, refused by name when they cannot be meant."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openticket.config import Settings
from openticket.core.errors import InvalidInput
from openticket.core.money import Money
from openticket.core.payments.payouts.model import fee_of

percents = st.decimals(min_value=0, max_value=100, places=2)
currencies = st.sampled_from(["USD", "JPY", "EUR", "KRW"])


@given(minor=st.integers(1, 10**12), currency=currencies, percent=percents)
def test_the_fee_is_the_percentage_rounded_half_up_and_the_rest_goes_to_the_seller(
    minor: int, currency: str, percent: Decimal
) -> None:
    gross = Money(minor, currency)
    fee = fee_of(gross, percent)
    exact = Fraction(minor) * Fraction(percent) / 100
    assert fee.currency == currency
    assert fee.minor == int(exact + Fraction(1, 2))  # half up, for amounts >= 0
    assert 0 <= fee.minor <= gross.minor  # a net is never below zero
    assert abs(Fraction(fee.minor) - exact) <= Fraction(1, 2)


@pytest.mark.parametrize(
    ("gross", "percent", "fee"),
    [
        (Money(1250, "USD"), "5", 63),  # 62.5 cents: half up
        (Money(1230, "USD"), "5", 62),  # 61.5 cents
        (Money(1210, "USD"), "5", 61),  # 60.5 cents
        (Money(1050, "JPY"), "5", 53),  # 52.5 yen: JPY has no minor unit below the yen
        (Money(50, "JPY"), "5", 3),  # 2.5 yen
        (Money(50, "JPY"), "2.9", 1),  # 1.45 yen
        (Money(999, "USD"), "100", 999),  # all of it, never more
        (Money(999, "USD"), "0", 0),
    ],
)
def test_fees_of_known_sales(gross: Money, percent: str, fee: int) -> None:
    assert fee_of(gross, Decimal(percent)).minor == fee


@pytest.mark.parametrize("text", ["-1", "100.01", "5%", "five", "1e2", "\uff15", "5.123", "101"])
def test_a_platform_fee_setting_that_is_no_percentage_is_refused_by_name(text: str) -> None:
    settings = Settings.from_env(
        {"OPENTICKET_HOME": "/nonexistent", "OPENTICKET_PLATFORM_FEE_PERCENT": text}
    )
    with pytest.raises(InvalidInput, match="OPENTICKET_PLATFORM_FEE_PERCENT"):
        _ = settings.payout_terms


@pytest.mark.parametrize(
    "text", ["-1", "1.5", "a week", str(366 * 24 * 3600), "+5", "1_000", "\u0663\u0660", "\uff11"]
)
def test_a_payout_hold_that_is_no_number_of_seconds_is_refused_by_name(text: str) -> None:
    settings = Settings.from_env(
        {"OPENTICKET_HOME": "/nonexistent", "OPENTICKET_PAYOUT_HOLD": text}
    )
    with pytest.raises(InvalidInput, match="OPENTICKET_PAYOUT_HOLD"):
        _ = settings.payout_terms


def test_the_default_terms_are_five_percent_held_seven_days() -> None:
    terms = Settings.from_env({"OPENTICKET_HOME": "/nonexistent"}).payout_terms
    assert (terms.fee_percent, terms.hold.total_seconds()) == (Decimal(5), 7 * 24 * 3600)


@pytest.mark.parametrize("text", ["whsec_", "whsec_short", "sk_test_0123456789abcdefghij", "x"])
def test_a_webhook_secret_that_is_no_stripe_signing_secret_is_refused_unechoed(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Settings.from_env(
            {"OPENTICKET_HOME": "/nonexistent", "OPENTICKET_STRIPE_WEBHOOK_SECRET": text}
        )
    assert "OPENTICKET_STRIPE_WEBHOOK_SECRET" in refused.value.message
    assert len(text) <= len("whsec_") or text not in refused.value.message  # never echoed


def test_webhook_secrets_are_read_comma_separated() -> None:
    secrets = ("whsec_" + "a" * 32, "whsec_" + "b" * 32)
    env = {"OPENTICKET_HOME": "/x", "OPENTICKET_STRIPE_WEBHOOK_SECRET": " , ".join(secrets)}
    assert Settings.from_env(env).stripe_webhook_secrets == secrets
