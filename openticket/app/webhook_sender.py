"""Sends the webhook deliveries that are due: claims a few (each leased, so a sender that
dies mid-send leaves it to be sent again, with the same id), POSTs each to the address its
URL was checked to have, and records how it went. Run each second by the process that hosts
the notify domain (`serve`, `worker --domains notify`), or once by `webhooks send`."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
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
PARALLEL = 4  # attempts on the wire at once: one slow receiver does not hold the others
ADDRESSES_TRIED = 3  # of a host's addresses, when one cannot be connected to
PASS_SECONDS = 1.0


class WebhookSender:
    def __init__(
        self, uow: UnitOfWork, transport: WebhookTransport, *, allow_private: bool
    ) -> None:
        self._uow = uow
        self._transport = transport
        self._allow_private = allow_private

    def send_due(self) -> int:
        """Send what is due now, a few at a time; how many attempts were made. Each claim
        leases its deliveries for longer than an attempt may take (LEASE), so another
        sender does not send them meanwhile."""
        sent = 0
        with ThreadPoolExecutor(PARALLEL, thread_name_prefix="openticket-webhook") as pool:
            while True:
                with self._uow.read() as tx:
                    if not webhooks.any_due(tx):
                        return sent
                claimed = self._uow.transact(lambda tx: webhooks.claim_due(tx, PARALLEL))
                if not claimed:
                    return sent
                attempts = pool.map(lambda pair: self._attempt(*pair), claimed)
                for (delivery, _), attempt in zip(claimed, attempts, strict=True):
                    self._uow.transact(partial(webhooks.record, claimed=delivery, attempt=attempt))
                    sent += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(PASS_SECONDS):
            try:
                self.send_due()
            except Exception:
                log.exception("sending webhooks failed; the next pass tries again")

    def _attempt(self, delivery: Delivery, webhook: Webhook) -> Attempt:
        try:
            return self._post(delivery, webhook)
        except Exception as error:  # recorded, so that its retries and give-up still apply
            log.warning("webhook delivery %s failed: %s", delivery.id, type(error).__name__)
            return Attempt(None, f"{type(error).__name__}: not sent")

    def _post(self, delivery: Delivery, webhook: Webhook) -> Attempt:
        try:
            addresses = resolve(webhook.url, self._allow_private)
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
        body = delivery.body.encode()
        attempt = Attempt(None, "no address")
        for address in addresses[:ADDRESSES_TRIED]:
            attempt = self._transport.post(pinned(webhook.url, address), body, headers, sni)
            if attempt.reached:
                return attempt
        return attempt
