"""The Api's calls about watching for tickets and the news a user gets (LocalApi takes them
in): saved searches, and the user's notifications. A thin map from each call to a use case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openticket.app import schemas
from openticket.core.clock import isoformat_utc
from openticket.core.notify import service as notify
from openticket.core.notify.model import Notification, Watch

if TYPE_CHECKING:
    from openticket.app.commands import Commands
    from openticket.app.ports import Terms
    from openticket.core.auth.model import User
    from openticket.core.ports import UnitOfWork


def watch_view(watch: Watch) -> schemas.Watch:
    limit = watch.max_price
    return schemas.Watch(
        id=watch.id,
        search=watch.search,
        max_price=None if limit is None else limit.format(),
        currency=watch.currency,
        created_at=isoformat_utc(watch.created_at),
    )


def notification_view(notification: Notification) -> schemas.Notification:
    return schemas.Notification(
        seq=notification.seq,
        id=notification.id,
        kind=notification.kind,
        data=notification.data,
        created_at=isoformat_utc(notification.created_at),
    )


class NotifyCalls:
    _uow: UnitOfWork
    _commands: Commands
    _terms: Terms

    if TYPE_CHECKING:  # LocalApi's own (the class this one is mixed into)

        def _authenticate(self, token: str | None) -> User: ...
        def _current(self) -> None: ...

    def add_watch(
        self,
        token: str | None,
        search: str,
        max_price: str | None = None,
        currency: str | None = None,
    ) -> schemas.Watch:
        """Watch for listings whose title contains `search`: each new one (listed, listed
        again, its price dropped into range, or back on sale after an order ended) is news
        to you once."""
        user = self._authenticate(token)
        default = self._terms.currency
        watch = self._uow.transact(
            lambda tx: notify.add_watch(tx, user.id, search, max_price, currency, default)
        )
        return watch_view(watch)

    def watches(self, token: str | None) -> list[schemas.Watch]:
        user = self._authenticate(token)
        with self._uow.read() as tx:
            return [watch_view(watch) for watch in notify.watches_of(tx, user.id)]

    def remove_watch(self, token: str | None, watch_id: str) -> None:
        user = self._authenticate(token)
        self._uow.transact(lambda tx: notify.remove_watch(tx, user.id, watch_id))

    def notifications(
        self, token: str | None, after: int = 0, limit: int = 100
    ) -> list[schemas.Notification]:
        """Your news after position `after`, oldest first."""
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            found = notify.notifications_of(tx, user.id, after, limit)
        return [notification_view(n) for n in found]

    def unread_notifications(self, token: str | None) -> int:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            return notify.unread(tx, user.id)

    def mark_notifications_read(self, token: str | None, upto: int) -> int:
        """You have read your news up to `upto`; how many are left unread."""
        user = self._authenticate(token)
        return self._uow.transact(lambda tx: notify.mark_read(tx, user.id, upto))
