"""The Api's calls about outgoing webhooks, over HTTP (RemoteApi takes them in)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openticket.app import schemas
from openticket.core.errors import NotFound
from openticket.core.ids import is_id


def _checked(webhook_id: str) -> str:
    if not is_id(webhook_id):  # `.` or an empty id would name another route
        raise NotFound("No webhook of yours with this id", "id")
    return webhook_id


class RemoteWebhookCalls:
    if TYPE_CHECKING:  # RemoteApi's own (the class this one is mixed into)

        def _request(
            self, method: str, path: str, token: str | None = None, **kwargs: Any
        ) -> Any: ...

    def add_webhook(
        self, token: str | None, url: str, events: list[str] | None = None
    ) -> schemas.Webhook:
        found = self._request("POST", "/api/webhooks", token, json={"url": url, "events": events})
        return schemas.Webhook.model_validate(found)

    def webhooks(self, token: str | None) -> list[schemas.Webhook]:
        found = self._request("GET", "/api/webhooks", token)
        return [schemas.Webhook.model_validate(w) for w in found]

    def remove_webhook(self, token: str | None, webhook_id: str) -> None:
        self._request("DELETE", f"/api/webhooks/{_checked(webhook_id)}", token)

    def webhook_deliveries(
        self, token: str | None, webhook_id: str, limit: int = 100
    ) -> list[schemas.WebhookDelivery]:
        path = f"/api/webhooks/{_checked(webhook_id)}/deliveries"
        found = self._request("GET", path, token, params={"limit": limit})
        return [schemas.WebhookDelivery.model_validate(d) for d in found]

    def send_webhooks(self, token: str | None) -> int:
        """Nothing to do here: the server sends its deliveries itself, each second."""
        self._request("GET", "/api/webhooks", token)  # signed in, as locally
        return 0
