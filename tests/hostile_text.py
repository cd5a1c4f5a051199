"""Titles a careless or malicious seller might type: each is valid listing text, and each must
be shown exactly as typed, never read as Rich/Textual markup, emoji codes or links."""

WIDE_CHAR = "\uff37"  # FULLWIDTH LATIN CAPITAL LETTER W: two terminal columns
WIDE = WIDE_CHAR * 200

HOSTILE_TITLES = (
    "[/]",
    "Best seats [/] ever",
    "[bold red]Loud[/] title",
    "[link=http://evil.example]click me[/link]",
    "[@click=app.quit]free tickets[/]",
    "Emoji :smile: and 🎷🎺 jazz",
    "שלום עולם — RTL text",
    "\\[escaped] and [dim",
    WIDE,
)
