"""What a batch of reservations reads, read once for all of them.

Alone, a reservation locks its ticket's replica and reads its live order: two round trips, the
most of its time with PostgreSQL on another machine. A batch locks all its tickets in one
statement (in id order, as one by one would) and reads their live orders in one more. A
reservation then decides on what was read, as long as nothing of its ticket was written since:
the first write for a ticket (an order, an expiry) makes the next reservation for it in the
batch read the store again, as do a live order past its window (lazy expiry writes) and a
ticket id that is not one.
"""

from __future__ import annotations

from openticket.core.ids import is_id
from openticket.core.orders import repository
from openticket.core.orders.model import Order, TicketReplica
from openticket.core.ports import Transaction


class KnownListings:
    def __init__(self, tickets: dict[str, TicketReplica], holders: dict[str, list[Order]]):
        self._tickets = tickets
        self._holders = holders
        self._forgotten: set[str] = set()

    @classmethod
    def load(cls, tx: Transaction, ticket_ids: list[str]) -> KnownListings:
        """The replicas of these tickets, locked, and their live orders (read, not locked: a
        reservation that would write one reads it again, locked)."""
        ids = sorted({ticket_id for ticket_id in ticket_ids if is_id(ticket_id)})
        if not ids:
            return cls({}, {})
        tickets = repository.get_tickets(tx, ids)
        return cls(tickets, repository.live_for_tickets(tx, list(tickets)))

    def knows(self, ticket_id: str) -> bool:
        """Whether what was read about this ticket still holds."""
        return is_id(ticket_id) and ticket_id not in self._forgotten

    def ticket(self, ticket_id: str) -> TicketReplica | None:
        return self._tickets.get(ticket_id)

    def holder(self, ticket: TicketReplica) -> Order | None:
        return next(
            (
                order
                for order in self._holders.get(ticket.id, ())
                if order.ticket_round == ticket.round
            ),
            None,
        )

    def forget(self, ticket_id: str) -> None:
        self._forgotten.add(ticket_id)
