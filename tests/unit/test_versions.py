"""The version-order rule every replica applies (pure: no store)."""

from __future__ import annotations

import pytest

from openticket.core.errors import RetryLater
from openticket.core.versions import is_next_version


def test_the_next_version_is_applied_and_a_repeat_is_not() -> None:
    assert is_next_version("order x", 3, 2) is True
    assert is_next_version("order x", 2, 2) is False
    assert is_next_version("order x", 1, 2) is False


def test_a_version_ahead_of_its_turn_waits() -> None:
    with pytest.raises(RetryLater, match="version 5 arrived before 3"):
        is_next_version("order x", 5, 2)


def test_a_change_to_something_not_seen_yet_waits() -> None:
    with pytest.raises(RetryLater, match="ticket y not seen yet"):
        is_next_version("ticket y", 0, None)
