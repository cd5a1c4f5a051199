"""The Api's calls about paying sellers, over HTTP (RemoteApi takes them in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openticket.app import schemas
from openticket.core.errors import NotFound
from openticket.core.ids import is_id


class RemotePayoutCalls:
    if TYPE_CHECKING:  # RemoteApi's own (the class this one is mixed into)

        def _request(
            self, method: str, path: str, token: str | None = None, **kwargs: Any
        ) -> Any: ...

    def payouts(self, token: str | None) -> list[schemas.Payout]:
        found = self._request("GET", "/api/payouts", token)
        return [schemas.Payout.model_validate(item) for item in found]

    def payout_account(self, token: str | None) -> schemas.PayoutAccount:
        found = self._request("GET", "/api/payouts/account", token)
        return schemas.PayoutAccount.model_validate(found)

    def refund_order(self, token: str | None, order_id: str) -> schemas.Order:
        if not is_id(order_id):  # `.` or an empty id would name another route
            raise NotFound("No sale of yours with this order id", "order_id")
        found = self._request("POST", f"/api/orders/{order_id}/refund", token)
        return schemas.Order.model_validate(found)

    def onboard(self, token: str | None) -> schemas.PayoutAccount:
        found = self._request("POST", "/api/payouts/onboard", token)
        return schemas.PayoutAccount.model_validate(found)
