"""The Api's calls about tickets people hold, over HTTP (RemoteApi takes them in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from openticket.app import schemas
from openticket.core.errors import NotFound
from openticket.core.ids import is_id


def _ticket(ticket_id: str) -> str:
    """The id as a path segment; one that is no ticket id is refused here (`.`, `transfers`
    or an empty one would name another route)."""
    if not is_id(ticket_id):
        raise NotFound("Ticket not found", "ticket_id")
    return ticket_id


class RemoteWalletCalls:
    if TYPE_CHECKING:  # RemoteApi's own (the class this one is mixed into)

        def _request(
            self, method: str, path: str, token: str | None = None, **kwargs: Any
        ) -> Any: ...
        def _create(
            self, path: str, token: str | None, body: dict[str, Any], key: str | None
        ) -> Any: ...

    def wallet(self, token: str | None) -> list[schemas.WalletEntry]:
        found = self._request("GET", "/api/wallet", token)
        return [schemas.WalletEntry.model_validate(item) for item in found]

    def wallet_entry(self, token: str | None, ticket_id: str) -> schemas.WalletEntry:
        found = self._request("GET", f"/api/wallet/{_ticket(ticket_id)}", token)
        return schemas.WalletEntry.model_validate(found)

    def resell(self, token: str | None, ticket_id: str, price: str) -> schemas.Ticket:
        path = f"/api/tickets/{_ticket(ticket_id)}/resell"
        return schemas.Ticket(**self._request("POST", path, token, json={"price": price}))

    def cancel_resale(self, token: str | None, ticket_id: str) -> schemas.Ticket:
        path = f"/api/tickets/{_ticket(ticket_id)}/resell"
        return schemas.Ticket(**self._request("DELETE", path, token))

    def transfer(self, token: str | None, ticket_id: str, to_email: str) -> schemas.Ticket:
        path = f"/api/tickets/{_ticket(ticket_id)}/transfer"
        return schemas.Ticket(**self._request("POST", path, token, json={"to": to_email}))

    def transfers(self, token: str | None) -> list[schemas.Transfer]:
        found = self._request("GET", "/api/wallet/transfers", token)
        return [schemas.Transfer.model_validate(item) for item in found]

    def verify_code(self, code: str) -> schemas.Verification:
        found = self._request("POST", "/api/codes/verify", json={"code": code})
        return schemas.Verification.model_validate(found)

    def check_in(
        self, token: str | None, code: str, *, idempotency_key: str | None = None
    ) -> schemas.CheckIn:
        found = self._create("/api/checkins", token, {"code": code}, idempotency_key)
        return schemas.CheckIn.model_validate(found)

    def add_checkin_staff(self, token: str | None, email: str) -> schemas.StaffMember:
        found = self._request("POST", "/api/checkins/staff", token, json={"email": email})
        return schemas.StaffMember.model_validate(found)

    def remove_checkin_staff(self, token: str | None, email: str) -> schemas.User:
        path = f"/api/checkins/staff/{quote(email, safe='')}"
        return schemas.User.model_validate(self._request("DELETE", path, token))

    def checkin_staff(self, token: str | None) -> list[schemas.StaffMember]:
        found = self._request("GET", "/api/checkins/staff", token)
        return [schemas.StaffMember.model_validate(member) for member in found]

    def rotate_code_key(self, *, revoke_all: bool = False) -> schemas.KeyRotation:
        from openticket.core.errors import InvalidInput

        raise InvalidInput(
            "`checkin rotate-key` runs against the local database only (no --server yet)"
        )

    def code_keys(self) -> schemas.CodeKeys:
        return schemas.CodeKeys.model_validate(self._request("GET", "/api/codes/keys"))

    def code_changes(self, after: int = 0, limit: int = 1000) -> schemas.CodeChanges:
        params = {"after": after, "limit": limit}
        found = self._request("GET", "/api/codes/revoked", params=params)
        return schemas.CodeChanges.model_validate(found)
