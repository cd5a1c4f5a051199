"""What the TUI tests share: the async backend they run on, and a marketplace to look at."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from openticket.app.local import LocalApi
from tests.tui.test_tui_flows import Market, make_market


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def market(make_api: Callable[..., LocalApi], tmp_path: Path, db_url: str) -> Market:
    return make_market(make_api, tmp_path, db_url)
