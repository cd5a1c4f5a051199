"""What a batch of reservations reads, read once for all of them.

Alone, a reservation locks its ticket's replica and reads its live order: two round trips, the
most of its time with PostgreSQL on another machine. A batch locks all its tickets in one
statement (in id order, as one by one would) and reads their live orders in one more. A
reservation then decides on what was read, as long as nothing of its ticket was written since:
the first write for a ticket (an order, an expiry) makes the next reservation for it in the
batch read the store again, as do a live order past its window (lazy expiry writes) and a
ticket id that is not one.

A batch may also keep its new orders to write them together (`hold_new_orders`): each is then
its ticket's live order for the batch's later requests, as if it had been read.
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
        self._new_orders: list[Order] | None = None  # held, to be written together

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

    def hold_new_orders(self) -> None:
        """From now on a new order is kept here (`add`) until `write_new_orders`."""
        self._new_orders = []

    @property
    def holds_new_orders(self) -> bool:
        return self._new_orders is not None

    def add(self, order: Order) -> None:
        """A new order, held: its ticket's live order from now on (the ticket is locked, and
        an expired holder was written off before it)."""
        assert self._new_orders is not None, "hold_new_orders first"
        self._new_orders.append(order)
        self._holders[order.ticket_id] = [order]
        self._forgotten.discard(order.ticket_id)

    def write_new_orders(self, tx: Transaction) -> None:
        """Write the held orders, in one statement. Conflict if a ticket has a live order
        already (none is written then, and the transaction cannot go on)."""
        if self._new_orders:
            repository.add_many(tx, self._new_orders, tx.now)
        self._new_orders = []
