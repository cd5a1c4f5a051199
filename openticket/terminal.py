"""Text someone typed, made safe to show on a terminal.

Stored text is data: a title or an email must never move the cursor, clear the screen, recolour
what follows, or reverse the direction of the rest of a line. Markup ([bold], [link=…]) is
not interpreted by the CLI's console or the TUI's widgets at all; this module handles what a
terminal itself would interpret, by showing those characters as visible escapes.
"""

from __future__ import annotations

import unicodedata

# Unicode's bidirectional controls (category Cf): they reorder what follows them on screen.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def shown(text: str) -> str:
    """`text` with terminal controls (C0/C1 such as ESC, line and paragraph separators,
    bidirectional overrides) replaced by visible escapes like `\\x1b` or `\\u202e`."""
    if text.isprintable():
        return text
    return "".join(_escaped(ch) for ch in text)


def shown_lines(text: str) -> str:
    """`shown` for text of several lines we composed: its line breaks are kept."""
    return "\n".join(shown(line) for line in text.split("\n"))


def _escaped(ch: str) -> str:
    if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs"):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch
