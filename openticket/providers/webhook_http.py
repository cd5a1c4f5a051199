"""Posts a webhook delivery over HTTP (httpx): no redirects followed (one could point
inside), no proxy settings from the environment, the answer's body never read (a receiver
could send gigabytes), and a hard deadline for the whole attempt (a receiver that trickles
bytes cannot hold the sender)."""

from __future__ import annotations

import threading

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
        client = httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False)
        deadline = threading.Timer(self._timeout, client.close)  # ends a trickling answer
        deadline.start()
        try:
            request = client.build_request(
                "POST", url, content=body, headers=headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            response.close()  # the status is all we need
        except httpx.ConnectError:
            return Attempt(None, "could not connect", reached=False)
        except (httpx.HTTPError, RuntimeError, OSError) as error:
            return Attempt(None, f"{type(error).__name__}: no answer in time")
        finally:
            deadline.cancel()
            client.close()
        status = response.status_code
        return Attempt(status, None if 200 <= status < 300 else f"HTTP {status}")
