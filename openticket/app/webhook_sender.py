"""Sends the webhook deliveries that are due: claims a few (each leased, so a sender that
dies mid-send leaves it to be sent again, with the same id), POSTs each to the address its
URL was checked to have, and records how it went. Run each second by the process that hosts
the notify domain (`serve`, `worker --domains notify`), or once by `webhooks send`."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from openticket import __version__
from openticket.app.webhook_targets import pinned, resolve
from openticket.core.errors import InvalidInput
from openticket.core.notify.webhooks import service as webhooks
from openticket.core.notify.webhooks.model import (
    DELIVERY_HEADER,
    KIND_HEADER,
    SIGNATURE_HEADER,
    Delivery,
    Webhook,
    signature,
)
from openticket.core.notify.webhooks.service import Attempt

if TYPE_CHECKING:
    from openticket.app.ports import WebhookTransport
    from openticket.core.ports import UnitOfWork

log = logging.getLogger("openticket.webhooks")
BATCH = 20
PASS_SECONDS = 1.0


class WebhookSender:
    def __init__(
        self, uow: UnitOfWork, transport: WebhookTransport, *, allow_private: bool
    ) -> None:
        self._uow = uow
        self._transport = transport
        self._allow_private = allow_private

    def send_due(self) -> int:
        """Send what is due now, batch after batch; how many attempts were made."""
        sent = 0
        while True:
            with self._uow.read() as tx:
                if not webhooks.any_due(tx):
                    return sent
            claimed = self._uow.transact(lambda tx: webhooks.claim_due(tx, BATCH))
            if not claimed:
                return sent
            for delivery, webhook in claimed:
                attempt = self._post(delivery, webhook)
                self._record(delivery.id, attempt)
                sent += 1

    def _record(self, delivery_id: str, attempt: Attempt) -> None:
        self._uow.transact(lambda tx: webhooks.record(tx, delivery_id, attempt))

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(PASS_SECONDS):
            try:
                self.send_due()
            except Exception:
                log.exception("sending webhooks failed; the next pass tries again")

    def _post(self, delivery: Delivery, webhook: Webhook) -> Attempt:
        try:
            address = resolve(webhook.url, self._allow_private)[0]
        except InvalidInput as refused:
            return Attempt(None, refused.message)
        parts = urlsplit(webhook.url)
        timestamp = int(self._uow.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"openticket-webhooks/{__version__}",
            "Host": parts.netloc,
            SIGNATURE_HEADER: signature(webhook.secret, timestamp, delivery.body),
            DELIVERY_HEADER: delivery.id,
            KIND_HEADER: delivery.kind,
        }
        sni = parts.hostname if parts.scheme == "https" else None
        return self._transport.post(
            pinned(webhook.url, address), delivery.body.encode(), headers, sni
        )
