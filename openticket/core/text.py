"""What text the store can hold: every column is UTF-8 (SQLite) or text without NUL
(PostgreSQL), so a NUL or an unpaired surrogate (which JSON's \\ud800 escapes can carry) is
refused as input where it arrives, with the field's name, never found by a failing write."""

from __future__ import annotations


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
