"""Money: integer minor units plus an ISO 4217 currency, and the currency rules in one table.

The minimum charge per currency is the payment provider's (Stripe's published minimums), so a
ticket that can be listed can always be paid for.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from openticket.core.errors import InvalidInput

MAX_MINOR_UNITS = 99_999_999


@dataclass(frozen=True)
class CurrencyRule:
    minor_digits: int  # 0 for Stripe's zero-decimal currencies: amounts in whole units
    minimum_charge: int  # the smallest amount Stripe charges, in minor units


# The supported currencies, as Stripe documents them ("zero-decimal currencies"; "minimum and
# maximum charge amounts"). A currency not in this table is refused. Among Stripe's
# zero-decimal currencies (BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF),
# only JPY has a published minimum, so it is the one supported here.
CURRENCIES: dict[str, CurrencyRule] = {
    "USD": CurrencyRule(minor_digits=2, minimum_charge=50),
    "AED": CurrencyRule(minor_digits=2, minimum_charge=200),
    "AUD": CurrencyRule(minor_digits=2, minimum_charge=50),
    "BGN": CurrencyRule(minor_digits=2, minimum_charge=100),
    "BRL": CurrencyRule(minor_digits=2, minimum_charge=50),
    "CAD": CurrencyRule(minor_digits=2, minimum_charge=50),
    "CHF": CurrencyRule(minor_digits=2, minimum_charge=50),
    "CZK": CurrencyRule(minor_digits=2, minimum_charge=1500),
    "DKK": CurrencyRule(minor_digits=2, minimum_charge=250),
    "EUR": CurrencyRule(minor_digits=2, minimum_charge=50),
    "GBP": CurrencyRule(minor_digits=2, minimum_charge=30),
    "HKD": CurrencyRule(minor_digits=2, minimum_charge=400),
    "INR": CurrencyRule(minor_digits=2, minimum_charge=50),
    "JPY": CurrencyRule(minor_digits=0, minimum_charge=50),
    "MXN": CurrencyRule(minor_digits=2, minimum_charge=1000),
    "MYR": CurrencyRule(minor_digits=2, minimum_charge=200),
    "NOK": CurrencyRule(minor_digits=2, minimum_charge=300),
    "NZD": CurrencyRule(minor_digits=2, minimum_charge=50),
    "PLN": CurrencyRule(minor_digits=2, minimum_charge=200),
    "RON": CurrencyRule(minor_digits=2, minimum_charge=200),
    "SEK": CurrencyRule(minor_digits=2, minimum_charge=300),
    "SGD": CurrencyRule(minor_digits=2, minimum_charge=50),
    "THB": CurrencyRule(minor_digits=2, minimum_charge=1000),
}

SUPPORTED_CURRENCIES = tuple(sorted(CURRENCIES))

# Prices repeat (an import of 100,000 seats has a few dozen prices): parsing and formatting
# are remembered for that many distinct ones. Money is immutable, so sharing is safe.
_CACHED_PRICES = 4096
_PARSED: dict[tuple[str, str], Money] = {}
# The forms the docs state: ASCII digits, an optional fraction after a point ("12.50", "500");
# a minus sign only so that a negative price is told it must be more than 0.
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_PRICE_TEXT = 40


def exponent(currency: str) -> int:
    return CURRENCIES[currency].minor_digits


def normalize_currency(text: str | None, field: str = "currency") -> str:
    code = (text or "").strip().upper()
    if code not in CURRENCIES:
        shown = text if text is None or len(text) <= 12 else text[:12] + "…"
        raise InvalidInput(
            f"Unknown or unsupported currency {shown!r}: "
            f"use one of {', '.join(SUPPORTED_CURRENCIES)}",
            field,
        )
    return code


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str

    @classmethod
    def parse(cls, text: str | int, currency: str, field: str = "price") -> Money:
        """Parse a price in major units ("12.50", "500" for JPY) and check it is chargeable."""
        code = normalize_currency(currency)
        raw = str(text).strip()
        known = _PARSED.get((raw, code))
        if known is not None:
            return known
        if len(raw) > _MAX_PRICE_TEXT or not _DECIMAL_TEXT.fullmatch(raw):
            raise InvalidInput("Price must be a decimal number such as 12.50", field)
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            raise InvalidInput("Price must be a decimal number such as 12.50", field) from None
        if amount <= 0:
            raise InvalidInput("Price must be greater than 0", field)
        places = exponent(code)
        scaled = amount.scaleb(places)
        if scaled != scaled.to_integral_value():
            if places == 0:
                raise InvalidInput(f"{code} prices take no decimal places", field)
            raise InvalidInput(f"{code} prices take at most {places} decimal places", field)
        money = cls(int(scaled), code)
        money.check_chargeable(field)
        if len(_PARSED) < _CACHED_PRICES:
            _PARSED[raw, code] = money
        return money

    def check_chargeable(self, field: str = "price") -> None:
        minimum = CURRENCIES[self.currency].minimum_charge
        if self.minor < minimum:
            raise InvalidInput(
                f"Price must be at least {format_minor(minimum, self.currency)} {self.currency}"
                " (the smallest amount the payment provider can charge)",
                field,
            )
        if self.minor > MAX_MINOR_UNITS:
            raise InvalidInput(
                f"Price must be at most {format_minor(MAX_MINOR_UNITS, self.currency)} "
                f"{self.currency}",
                field,
            )

    def format(self) -> str:
        return format_minor(self.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"


@functools.lru_cache(maxsize=_CACHED_PRICES)
def format_minor(minor: int, currency: str) -> str:
    """The contract's decimal string: "12.50" for USD, "500" for JPY."""
    places = exponent(currency)
    if places == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{fraction:0{places}d}"


@functools.lru_cache(maxsize=_CACHED_PRICES)
def money_from_contract(price: str, currency: str) -> Money:
    """Read back a decimal string this system wrote (events, exports), without listing rules."""
    places = exponent(currency)
    # format_minor's own shape ("12.50", "500") is read without Decimal: replicas read one
    # per event.
    if (places == 0 and price.isdigit()) or (
        len(price) > places and price[-places - 1] == "." and price.replace(".", "", 1).isdigit()
    ):
        return Money(int(price.replace(".", "", 1)), currency)
    return Money(int(Decimal(price).scaleb(places)), currency)
