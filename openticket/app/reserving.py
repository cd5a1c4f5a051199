"""A batch of reservations (what a server does with concurrent requests): one transaction and
one delivery of their events for all, each request answered with its order or the error that
refused it, and a refused one changing nothing.

They are made in ticket order, whatever order they came in: two batches lock tickets in the
same order, so neither waits for a ticket the other holds while holding one it wants.

A reservation is refused before it writes anything (every write of one emits an event), so
a batch first runs without a savepoint per request (two round trips each: a sixth of a
batch's time with PostgreSQL on another machine), and writes its new orders and its events
when all are decided, a statement for each (not two per reservation). Should a refusal come
after a write, or from a failed statement, or should writing them fail, the batch is run
again with savepoints, each reservation writing its own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from typing import TypeVar

from openticket.app.api import OrderRequest
from openticket.app.commands import Commands
from openticket.core.auth import service as auth
from openticket.core.auth.model import User
from openticket.core.errors import DomainError, NotSignedIn
from openticket.core.orders.known import KnownListings
from openticket.core.ports import Transaction
from openticket.core.signing_keys import KeyRing

Answer = TypeVar("Answer")


class _Isolate(Exception):
    """Abandons a batch run without savepoints, to run it again with them."""


class BatchReads:
    """What every reservation of a batch reads, read for all of them at once: who each token
    belongs to (two queries), the tickets, locked, and their live orders (two more)."""

    def __init__(self, tx: Transaction, keys: KeyRing, requests: list[OrderRequest]) -> None:
        self._users = auth.find_users(tx, keys, [request.token for request in requests])
        self.listings = KnownListings.load(tx, [request.ticket_id for request in requests])

    def user(self, token: str | None) -> User:
        """Whose token this is; NotSignedIn when it is missing, forged, expired or revoked."""
        user = self._users.get(token or "")
        if user is None:
            raise NotSignedIn()
        return user


def reserve_batch(
    commands: Commands,
    keys: KeyRing,
    requests: list[OrderRequest],
    reserve: Callable[[Transaction, OrderRequest, BatchReads], Answer],
    settled: Callable[[], None] | None = None,
) -> list[Answer | DomainError]:
    """`reserve`: one reservation, given what the batch read in the run's transaction.
    `settled`: as Commands.run's."""
    in_ticket_order = sorted(range(len(requests)), key=lambda n: requests[n].ticket_id)

    def reserve_all(tx: Transaction, *, isolated: bool) -> list[Answer | DomainError]:
        outcomes: dict[int, Answer | DomainError] = {}
        reads = BatchReads(tx, keys, requests)
        if not isolated:
            reads.listings.hold_new_orders()
        with nullcontext() if isolated else tx.emits_deferred():
            for n in in_ticket_order:
                emitted = tx.emitted
                try:
                    if isolated:
                        with tx.savepoint():
                            outcomes[n] = reserve(tx, requests[n], reads)
                    else:
                        outcomes[n] = reserve(tx, requests[n], reads)
                except DomainError as error:
                    if not isolated and (tx.emitted != emitted or tx.failed()):
                        raise _Isolate from error
                    outcomes[n] = error
            if not isolated:
                try:
                    reads.listings.write_new_orders(tx)
                except DomainError as error:
                    raise _Isolate from error
        return [outcomes[n] for n in range(len(requests))]

    run = partial(commands.run, "reserve", current_replicas=True, settled=settled)
    try:
        return run(partial(reserve_all, isolated=False))
    except _Isolate:
        return run(partial(reserve_all, isolated=True))
