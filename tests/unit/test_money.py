from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openticket.core.errors import InvalidInput
from openticket.core.money import (
    CURRENCIES,
    MAX_MINOR_UNITS,
    Money,
    exponent,
    format_minor,
    money_from_contract,
)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("12.5", "usd", 1250),
        ("0.50", "USD", 50),
        (" 7 ", "EUR", 700),
        ("500", "JPY", 500),
        ("50", "JPY", 50),
        ("50.0", "JPY", 50),
        ("0.30", "GBP", 30),
        ("999999.99", "USD", MAX_MINOR_UNITS),
        (1250, "USD", 125000),
    ],
)
def test_parse(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency.upper())


@pytest.mark.parametrize(
    ("text", "currency", "fragment"),
    [
        ("0", "USD", "greater than 0"),
        ("-5", "USD", "greater than 0"),
        ("abc", "USD", "decimal number"),
        ("1e309", "USD", "decimal number"),
        ("NaN", "USD", "decimal number"),
        ("Infinity", "USD", "decimal number"),
        ("1" * 100, "USD", "decimal number"),
        ("12.345", "USD", "at most 2 decimal"),
        ("12.5", "JPY", "no decimal"),
        ("49", "JPY", "at least 50 JPY"),
        ("0.49", "USD", "at least 0.50 USD"),
        ("0.29", "GBP", "at least 0.30 GBP"),
        ("1000000", "USD", "at most 999999.99 USD"),
        ("100000000", "JPY", "at most 99999999 JPY"),
        ("5", "XYZ", "currency"),
        ("5", "", "currency"),
        # Only the forms the docs state: ASCII digits, a fraction after a point.
        ("\u0661\u0660", "USD", "decimal number"),  # Arabic-Indic "10"
        ("\uff11\uff12", "USD", "decimal number"),  # full-width "12"
        ("10.", "USD", "decimal number"),
        (".5", "USD", "decimal number"),
        ("+12", "USD", "decimal number"),
        ("True", "USD", "decimal number"),
        ("1_000", "USD", "decimal number"),
        ("12\ud800", "USD", "decimal number"),
    ],
)
def test_parse_refuses(text: str, currency: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        Money.parse(text, currency)


def test_zero_decimal_currencies_format_without_fraction() -> None:
    assert exponent("JPY") == 0 and exponent("USD") == 2
    assert Money(500, "JPY").format() == "500"
    assert Money(1250, "USD").format() == "12.50"
    assert format_minor(5, "EUR") == "0.05"


@given(
    currency=st.sampled_from(sorted(CURRENCIES)),
    minor=st.integers(min_value=0, max_value=MAX_MINOR_UNITS),
)
def test_contract_text_round_trips(currency: str, minor: int) -> None:
    minor = max(minor, CURRENCIES[currency].minimum_charge)
    money = Money(minor, currency)
    assert Money.parse(money.format(), currency) == money
    assert money_from_contract(money.format(), currency) == money
