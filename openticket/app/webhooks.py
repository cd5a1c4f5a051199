"""The Api's calls about outgoing webhooks (LocalApi takes them in): a user's endpoints and
their delivery logs. A thin map from each call to a use case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openticket.app import schemas
from openticket.app.webhook_targets import resolve
from openticket.core.clock import isoformat_utc
from openticket.core.notify.webhooks import service as webhooks
from openticket.core.notify.webhooks.model import (
    PENDING,
    Delivery,
    Webhook,
    check_kinds,
    check_url,
)

if TYPE_CHECKING:
    from openticket.app.ports import Terms
    from openticket.app.runtime import Runtime
    from openticket.core.auth.model import User
    from openticket.core.ports import UnitOfWork


def webhook_view(webhook: Webhook, *, with_secret: bool = False) -> schemas.Webhook:
    return schemas.Webhook(
        id=webhook.id,
        url=webhook.url,
        events=webhook.kinds(),
        status=webhook.status,
        status_reason=webhook.status_reason,
        created_at=isoformat_utc(webhook.created_at),
        secret=webhook.secret if with_secret else None,
    )


def delivery_view(delivery: Delivery) -> schemas.WebhookDelivery:
    done = delivery.delivered_at
    return schemas.WebhookDelivery(
        id=delivery.id,
        webhook_id=delivery.webhook_id,
        kind=delivery.kind,
        status=delivery.status,
        attempts=delivery.attempts,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        next_attempt_at=(
            isoformat_utc(delivery.next_attempt_at) if delivery.status == PENDING else None
        ),
        created_at=isoformat_utc(delivery.created_at),
        delivered_at=None if done is None else isoformat_utc(done),
    )


class WebhookCalls:
    runtime: Runtime
    _uow: UnitOfWork
    _terms: Terms

    if TYPE_CHECKING:  # LocalApi's own (the class this one is mixed into)

        def _authenticate(self, token: str | None) -> User: ...

    def add_webhook(
        self, token: str | None, url: str, events: list[str] | None = None
    ) -> schemas.Webhook:
        user = self._authenticate(token)
        check_kinds(events)  # what needs no network, first
        with self._uow.read() as tx:
            webhooks.check_room(tx, user.id)
        resolve(check_url(url), self._terms.webhook_allow_private)  # then where it points
        webhook = self._uow.transact(lambda tx: webhooks.add_webhook(tx, user.id, url, events))
        return webhook_view(webhook, with_secret=True)

    def webhooks(self, token: str | None) -> list[schemas.Webhook]:
        user = self._authenticate(token)
        with self._uow.read() as tx:
            return [webhook_view(webhook) for webhook in webhooks.webhooks_of(tx, user.id)]

    def remove_webhook(self, token: str | None, webhook_id: str) -> None:
        user = self._authenticate(token)
        self._uow.transact(lambda tx: webhooks.remove_webhook(tx, user.id, webhook_id))

    def webhook_deliveries(
        self, token: str | None, webhook_id: str, limit: int = 100
    ) -> list[schemas.WebhookDelivery]:
        user = self._authenticate(token)
        with self._uow.read() as tx:
            found = webhooks.deliveries_of(tx, user.id, webhook_id, limit)
        return [delivery_view(delivery) for delivery in found]

    def send_webhooks(self, token: str | None) -> int:
        self._authenticate(token)
        sender = self.runtime.webhooks
        return 0 if sender is None else sender.send_due()
