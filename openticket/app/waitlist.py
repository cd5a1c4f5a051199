"""The Api's calls about waitlists (LocalApi takes them in): join a reserved ticket's line,
leave it, see your places. A thin map from each call to a use case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openticket.app import schemas
from openticket.core.clock import isoformat_utc
from openticket.core.orders.waitlist import service as waitlist
from openticket.core.orders.waitlist.model import Entry, Place

if TYPE_CHECKING:
    from openticket.app.commands import Commands
    from openticket.app.ports import Terms
    from openticket.core.auth.model import User
    from openticket.core.ports import UnitOfWork


def waitlist_view(place: Place) -> schemas.WaitlistEntry:
    entry = place.entry
    ends = place.offer_expires_at
    return schemas.WaitlistEntry(
        id=entry.id,
        ticket_id=entry.ticket_id,
        title=entry.ticket_title,
        status=entry.status,
        place=place.place,
        order_id=entry.order_id,
        offer_expires_at=None if ends is None else isoformat_utc(ends),
        joined_at=isoformat_utc(entry.joined_at),
    )


def _left_view(entry: Entry) -> schemas.WaitlistEntry:
    return waitlist_view(Place(entry, None, None))


class WaitlistCalls:
    _uow: UnitOfWork
    _commands: Commands
    _terms: Terms

    if TYPE_CHECKING:  # LocalApi's own (the class this one is mixed into)

        def _authenticate(self, token: str | None) -> User: ...
        def _current(self) -> None: ...
        def _catch_up(self) -> None: ...

    def join_waitlist(self, token: str | None, ticket_id: str) -> schemas.WaitlistEntry:
        user = self._authenticate(token)
        offer_seconds = self._terms.offer_ttl
        self._catch_up()
        place = self._commands.run(
            "waitlist",
            lambda tx: waitlist.join(tx, user.id, ticket_id, offer_seconds),
            current_replicas=True,
        )
        return waitlist_view(place)

    def leave_waitlist(self, token: str | None, ticket_id: str) -> schemas.WaitlistEntry:
        user = self._authenticate(token)
        self._catch_up()
        entry = self._commands.run("waitlist", lambda tx: waitlist.leave(tx, user.id, ticket_id))
        return _left_view(entry)

    def waitlist(self, token: str | None) -> list[schemas.WaitlistEntry]:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            return [waitlist_view(place) for place in waitlist.entries_of(tx, user.id)]
