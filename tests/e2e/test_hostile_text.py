"""Stored text is data: hostile titles through the real console script, embedded and behind
`openticket serve`, are listed, reserved and shown verbatim for every user."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from openticket.terminal import shown
from tests.conftest import User, marketplace, signed_up
from tests.hostile_text import HOSTILE_TITLES, WIDE, WIDE_CHAR


def _visible(stdout: str) -> str:
    """What a table shows, its borders and padding removed and folded lines joined."""
    return "".join(ch for ch in stdout if ch not in "┃│┏┓┗┛┡┩└┘━─┳┻╇╈┼┬┴═║ \n")


def _appears(title: str, stdout: str) -> bool:
    if title == WIDE:  # folded over many lines, between the other columns' cells
        return stdout.count(WIDE_CHAR) == len(WIDE)
    return title.replace(" ", "") in _visible(stdout)


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_hostile_titles_are_shown_as_typed(mode: str, tmp_path: Path) -> None:
    with marketplace(mode, tmp_path) as people:
        _journey(people)


def _journey(people: Callable[..., User]) -> None:
    seller, buyer = people("seller"), people("buyer")
    signed_up(seller, "seller@example.com")
    signed_up(buyer, "buyer@example.com")
    for title in HOSTILE_TITLES:
        created = seller.run("tickets", "create", "--title", title, "--price", "10")
        assert (created.code, created.stderr) == (0, ""), title
        assert _appears(title, created.stdout), created.stdout
    mine = seller.ok("tickets", "list", "--mine", "--limit", "100")
    ids = {ticket["title"]: ticket["id"] for ticket in mine}
    assert sorted(ids) == sorted(HOSTILE_TITLES)

    listed = buyer.run("tickets", "list", "--limit", "100")
    assert (listed.code, listed.stderr) == (0, "")
    for title in HOSTILE_TITLES:
        assert _appears(title, listed.stdout), title
    assert "\x1b]8;" not in listed.stdout  # no hyperlink escape sequence

    for title in ("[/]", "[@click=app.quit]free tickets[/]", WIDE):
        reserved = buyer.run("orders", "create", ids[title])
        assert reserved.code == 0, reserved.stderr
        assert "Error" not in reserved.stderr and _appears(title, reserved.stdout)
    history = buyer.run("orders", "list")
    assert (history.code, history.stderr) == (0, "")
    assert _appears("[/]", history.stdout) and _appears("[@click=app.quit]free", history.stdout)
    shown_ticket = buyer.run("tickets", "show", ids["[link=http://evil.example]click me[/link]"])
    assert _appears("[link=http://evil.example]click me[/link]", shown_ticket.stdout)


def test_terminal_controls_are_shown_as_escapes() -> None:
    assert shown("plain [bold] text") == "plain [bold] text"
    assert shown("red \x1b[31m!") == "red \\x1b[31m!"
    assert shown("a\u202eb\u2066c") == "a\\u202eb\\u2066c"
    assert shown("bell\x07 nul\x00 c1\x9b") == "bell\\x07 nul\\x00 c1\\x9b"
    assert shown("line\u2028break") == "line\\u2028break"
    assert shown("🎷 שלום") == "🎷 שלום"
