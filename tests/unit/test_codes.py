"""Ticket codes (core/tickets/holding/codes.py): signed by a ring's key, read back only with
that key, and only in their one canonical spelling."""

from __future__ import annotations

from openticket.core.signing_keys import SigningKey, key_id
from openticket.core.tickets.holding import codes

TICKET = "01a236e5826471a3ae568e83aeab9c5e"


def _key(secret: str) -> codes.CodeKey:
    return codes.code_key(SigningKey(key_id(secret), secret))


def test_a_code_says_its_ticket_and_serial_to_the_key_that_signed_it() -> None:
    key, other = _key("s" * 48), _key("t" * 48)
    code = codes.issue(key, TICKET, 7)
    assert len(code) == codes.CODE_LENGTH and code.isascii()
    assert codes.read(code, {key.kid: key.public_bytes()}) == (key.kid, TICKET, 7)
    assert codes.issue(key, TICKET, 7) == code  # the same every time it is shown
    assert codes.read(code, {other.kid: other.public_bytes()}) is None  # another marketplace
    assert codes.read(code, {key.kid: other.public_bytes()}) is None  # a forged key id


def test_a_changed_character_or_another_spelling_is_refused() -> None:
    key = _key("s" * 48)
    keys = {key.kid: key.public_bytes()}
    # A serial whose code has a character base64 spells two ways ("-" or "+", "_" or "/").
    code = next(
        c for c in (codes.issue(key, TICKET, n) for n in range(1, 100)) if "-" in c or "_" in c
    )
    assert codes.read(code.replace("-", "+").replace("_", "/"), keys) is None
    for at in (0, 20, 60, len(code) - 1):
        changed = code[:at] + ("B" if code[at] != "B" else "C") + code[at + 1 :]
        assert codes.read(changed, keys) is None
    assert codes.read(code + "=", keys) is None
    assert codes.read(code[:-1], keys) is None
    assert codes.read(" " * len(code), keys) is None
