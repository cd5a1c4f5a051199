"""Posts a webhook delivery over HTTP (httpx): no redirects followed (one could point
inside), no proxy settings from the environment, a bounded wait."""

from __future__ import annotations

import httpx

from openticket.core.notify.webhooks.model import SEND_TIMEOUT_SECONDS
from openticket.core.notify.webhooks.service import Attempt


class HttpWebhookTransport:
    def __init__(self, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout

    def post(
        self, url: str, body: bytes, headers: dict[str, str], sni_hostname: str | None
    ) -> Attempt:
        extensions = {} if sni_hostname is None else {"sni_hostname": sni_hostname}
        try:
            with httpx.Client(
                timeout=self._timeout, follow_redirects=False, trust_env=False
            ) as client:
                response = client.post(url, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as error:
            return Attempt(None, f"{type(error).__name__}: no answer")
        status = response.status_code
        return Attempt(status, None if 200 <= status < 300 else f"HTTP {status}")
