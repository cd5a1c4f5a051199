"""Times as people read them in tables: relative when near, local otherwise."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from openticket.cli.when import shown_time

NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def tokyo() -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.mark.parametrize(
    ("iso", "shown"),
    [
        ("2026-12-02T12:14:30.000Z", "in 14 min (21:14)"),
        ("2026-12-02T11:57:00.000Z", "3 min ago (20:57)"),
        ("2026-12-02T12:00:40.000Z", "in 40 s (21:00)"),
        ("2026-12-02T13:30:00.000Z", "22:30 JST"),
        ("2026-12-03T09:00:00.000Z", "2026-12-03 18:00 JST"),
        ("not a time", "not a time"),
    ],
)
def test_near_times_are_relative_and_far_ones_local(tokyo: None, iso: str, shown: str) -> None:
    assert shown_time(iso, NOW) == shown
