"""Which tickets a listing shows: whose, matching what, in which order, which page."""

from __future__ import annotations

from dataclasses import dataclass

from openticket.core.errors import InvalidInput
from openticket.core.text import storable
from openticket.core.tickets.model import AVAILABLE, SORTS

LIST_LIMIT_MAX = 1000
SEARCH_MAX = 200
LIST_OFFSET_MAX = 1_000_000_000  # past any real listing; keeps SQL integers in range


@dataclass(frozen=True)
class TicketQuery:
    owner_id: str | None = None  # a seller's own listings, in any status
    search: str | None = None  # text in the title, any case
    limit: int = 100
    offset: int = 0
    sort: str = "listed"

    @property
    def pattern(self) -> str | None:
        """The search as a case-insensitive LIKE pattern (its own % _ \\ match themselves)."""
        if not self.search:
            return None
        text = self.search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{text}%"

    @property
    def status(self) -> str | None:
        """A seller sees all their listings; the marketplace shows only what can be bought."""
        return None if self.owner_id is not None else AVAILABLE

    def check(self) -> None:
        if self.sort not in SORTS:
            raise InvalidInput(f"Sort must be one of {', '.join(SORTS)}", "sort")
        if not 1 <= self.limit <= LIST_LIMIT_MAX:
            raise InvalidInput(f"Limit must be between 1 and {LIST_LIMIT_MAX}", "limit")
        if not 0 <= self.offset <= LIST_OFFSET_MAX:
            raise InvalidInput(f"Offset must be from 0 to {LIST_OFFSET_MAX}", "offset")
        search = self.search
        if search is not None and len(search) > SEARCH_MAX:
            raise InvalidInput(f"Search text must be at most {SEARCH_MAX} characters", "search")
        if search is not None and not storable(search):
            raise InvalidInput(
                "Search text must not contain NUL or unpaired surrogate characters", "search"
            )
