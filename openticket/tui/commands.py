"""The command palette (ctrl+p): the app's actions, and tickets found by title."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import Hit, Hits, Provider

from openticket.core.errors import DomainError
from openticket.tui.text import plain

if TYPE_CHECKING:
    from openticket.tui.session import Session

RESULTS = 10


class TicketSearch(Provider):
    """Tickets for sale whose title has the text typed; choosing one shows it in the market."""

    async def search(self, query: str) -> Hits:
        text = query.strip()
        if not text:
            return
        session: Session = self.app.session  # type: ignore[attr-defined]
        try:
            found = await asyncio.to_thread(session.api.list_tickets, search=text, limit=RESULTS)
        except DomainError:
            return  # the market's own banner says what is wrong
        matcher = self.matcher(text)
        for ticket in found:
            score = matcher.match(ticket.title)
            yield Hit(
                max(score, 0.1),  # the store matched it, wherever the letters are
                plain(ticket.title),
                partial(self._show, ticket.title),
                text=ticket.title,
                help=f"{ticket.price} {ticket.currency}",
            )

    def _show(self, title: str) -> None:
        show: Any = getattr(self.app, "show_in_market", None)
        if show is not None:
            show(title)
