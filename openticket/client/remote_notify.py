"""The Api's calls about watching for tickets and a user's news, over HTTP (RemoteApi takes
them in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openticket.app import schemas
from openticket.core.errors import NotFound
from openticket.core.ids import is_id


class RemoteNotifyCalls:
    if TYPE_CHECKING:  # RemoteApi's own (the class this one is mixed into)

        def _request(
            self, method: str, path: str, token: str | None = None, **kwargs: Any
        ) -> Any: ...

    def add_watch(
        self,
        token: str | None,
        search: str,
        max_price: str | None = None,
        currency: str | None = None,
    ) -> schemas.Watch:
        body = {"search": search, "max_price": max_price, "currency": currency}
        found = self._request("POST", "/api/watches", token, json=body)
        return schemas.Watch.model_validate(found)

    def watches(self, token: str | None) -> list[schemas.Watch]:
        return [
            schemas.Watch.model_validate(w) for w in self._request("GET", "/api/watches", token)
        ]

    def remove_watch(self, token: str | None, watch_id: str) -> None:
        if not is_id(watch_id):  # `.` or an empty id would name another route
            raise NotFound("No watch of yours with this id", "id")
        self._request("DELETE", f"/api/watches/{watch_id}", token)

    def notifications(
        self, token: str | None, after: int = 0, limit: int = 100
    ) -> list[schemas.Notification]:
        params = {"after": after, "limit": limit}
        found = self._request("GET", "/api/me/notifications", token, params=params)
        return [schemas.Notification.model_validate(n) for n in found]

    def unread_notifications(self, token: str | None) -> int:
        return int(self._request("GET", "/api/me/notifications/unread", token)["unread"])

    def mark_notifications_read(self, token: str | None, upto: int) -> int:
        found = self._request("POST", "/api/me/notifications/read", token, json={"upto": upto})
        return int(found["unread"])
