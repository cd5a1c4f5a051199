"""The lazy-expiry rule a read applies (Order.as_seen): pure, no store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openticket.core.money import Money
from openticket.core.orders.model import PAYMENT_HOLD, Order

WINDOW_ENDS = datetime(2026, 12, 1, 12, 15, tzinfo=UTC)


def _order(status: str) -> Order:
    return Order("o", "u", "t", "T", Money(100, "USD"), status, WINDOW_ENDS, 2)


@pytest.mark.parametrize(
    ("status", "at", "seen"),
    [
        ("created", WINDOW_ENDS - timedelta(seconds=1), "created"),
        ("created", WINDOW_ENDS, "expired"),
        ("awaiting:payment", WINDOW_ENDS + PAYMENT_HOLD - timedelta(seconds=1), "awaiting:payment"),
        ("awaiting:payment", WINDOW_ENDS + PAYMENT_HOLD, "expired"),
        ("complete", WINDOW_ENDS + timedelta(days=1), "complete"),
        ("cancelled", WINDOW_ENDS + timedelta(days=1), "cancelled"),
    ],
)
def test_a_reader_sees_an_order_past_its_window_as_expired(
    status: str, at: datetime, seen: str
) -> None:
    order = _order(status)
    assert order.as_seen(at).status == seen
    assert order.as_seen(at).version == order.version  # nothing was written
