"""The Api's calls about waitlists, over HTTP (RemoteApi takes them in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openticket.app import schemas
from openticket.core.errors import NotFound
from openticket.core.ids import is_id


class RemoteWaitlistCalls:
    if TYPE_CHECKING:  # RemoteApi's own (the class this one is mixed into)

        def _request(
            self, method: str, path: str, token: str | None = None, **kwargs: Any
        ) -> Any: ...

    def join_waitlist(self, token: str | None, ticket_id: str) -> schemas.WaitlistEntry:
        found = self._request("POST", "/api/waitlist", token, json={"ticket_id": ticket_id})
        return schemas.WaitlistEntry.model_validate(found)

    def leave_waitlist(self, token: str | None, ticket_id: str) -> schemas.WaitlistEntry:
        if not is_id(ticket_id):  # `.` or an empty id would name another route
            raise NotFound("You are not in this ticket's waitlist", "ticket_id")
        found = self._request("DELETE", f"/api/waitlist/{ticket_id}", token)
        return schemas.WaitlistEntry.model_validate(found)

    def waitlist(self, token: str | None) -> list[schemas.WaitlistEntry]:
        found = self._request("GET", "/api/waitlist", token)
        return [schemas.WaitlistEntry.model_validate(entry) for entry in found]
