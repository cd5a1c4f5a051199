"""RemoteApi: the same Api as LocalApi, over httpx. Error bodies come back as the same
DomainErrors (so the CLI prints and exits the same way); an unreachable server is
Unavailable. Only requests that cannot change anything (GET) are retried."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import httpx

from openticket.app import schemas
from openticket.app.api import OrderRequest
from openticket.client.remote_notify import RemoteNotifyCalls
from openticket.client.remote_payouts import RemotePayoutCalls
from openticket.client.remote_waitlist import RemoteWaitlistCalls
from openticket.client.remote_wallet import RemoteWalletCalls
from openticket.client.remote_webhooks import RemoteWebhookCalls
from openticket.core.errors import (
    Conflict,
    DomainError,
    ErrorItem,
    Forbidden,
    InvalidInput,
    NotFound,
    NotSignedIn,
    PaymentDeclined,
    TooManyRequests,
    Unavailable,
)
from openticket.core.tickets.model import ImportRow

_BY_STATUS: dict[int, type[DomainError]] = {
    400: InvalidInput,
    401: NotSignedIn,
    402: PaymentDeclined,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidInput,
    429: TooManyRequests,
}
RETRY_ATTEMPTS = 3


class RemoteApi(
    RemoteWalletCalls,
    RemotePayoutCalls,
    RemoteNotifyCalls,
    RemoteWaitlistCalls,
    RemoteWebhookCalls,
):
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self._base = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self._base, timeout=timeout)

    def _request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        # Only what cannot create twice is retried: reads, and keyed creations.
        retry = method == "GET" or idempotency_key is not None
        attempts = RETRY_ATTEMPTS if retry else 1
        for attempt in range(attempts):
            try:
                response = self._client.request(method, path, headers=headers, **kwargs)
                break
            except httpx.TransportError as error:
                if attempt + 1 == attempts:
                    raise Unavailable(
                        f"Cannot reach the server at {self._base}: {type(error).__name__}"
                    ) from None
        if response.status_code >= 400:
            self._raise(response)
        return response.json() if response.content else None

    def _create(self, path: str, token: str | None, body: dict[str, Any], key: str | None) -> Any:
        """A creating POST, with an Idempotency-Key so that it can be retried safely: the
        server answers a repeat with the first answer instead of creating twice."""
        return self._request(
            "POST", path, token, json=body, idempotency_key=key or uuid.uuid4().hex
        )

    def _raise(self, response: httpx.Response) -> NoReturn:
        try:
            items = [
                ErrorItem(str(e.get("message", "")), e.get("field"))
                for e in response.json()["errors"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            items = [ErrorItem(f"The server answered {response.status_code}")]
        kind = _BY_STATUS.get(response.status_code, Unavailable)
        raise kind.many(items or [ErrorItem(f"The server answered {response.status_code}")])

    def close(self) -> None:
        self._client.close()

    # -- auth ---------------------------------------------------------------------------
    def signup(
        self, email: str, password: str, display_name: str | None = None
    ) -> schemas.AuthSession:
        body = {"email": email, "password": password}
        if display_name is not None:
            body["display_name"] = display_name
        return schemas.AuthSession(**self._request("POST", "/api/users/signup", json=body))

    def signin(self, email: str, password: str) -> schemas.AuthSession:
        body = {"email": email, "password": password}
        return schemas.AuthSession(**self._request("POST", "/api/users/signin", json=body))

    def signout(self, token: str | None, *, everywhere: bool = False) -> None:
        self._request("POST", "/api/users/signout", token, params={"all": everywhere})

    def rotate_signing_key(self, *, revoke_all: bool = False) -> schemas.KeyRotation:
        raise _not_yet("auth rotate-key")

    def whoami(self, token: str | None) -> schemas.User:
        found = self._request("GET", "/api/users/currentuser", token)["current_user"]
        if found is None:
            raise NotSignedIn()
        return schemas.User(**found)

    def update_profile(self, token: str | None, *, display_name: str) -> schemas.User:
        body = {"display_name": display_name}
        return schemas.User(**self._request("PUT", "/api/users/profile", token, json=body))

    # -- tickets ------------------------------------------------------------------------
    def list_tickets(
        self,
        token: str | None = None,
        *,
        mine: bool = False,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
        sort: str = "listed",
    ) -> list[schemas.Ticket]:
        params: dict[str, Any] = {"mine": mine, "limit": limit, "offset": offset, "sort": sort}
        if search is not None:
            params["search"] = search
        found = self._request("GET", "/api/tickets", token, params=params)
        return [schemas.Ticket(**item) for item in found]

    def count_tickets(
        self, token: str | None = None, *, mine: bool = False, search: str | None = None
    ) -> int:
        params: dict[str, Any] = {"mine": mine}
        if search is not None:
            params["search"] = search
        return int(self._request("GET", "/api/tickets/count", token, params=params)["count"])

    def get_ticket(self, ticket_id: str) -> schemas.Ticket:
        return schemas.Ticket(**self._request("GET", f"/api/tickets/{_segment(ticket_id)}"))

    def create_ticket(
        self,
        token: str | None,
        title: str,
        price: str,
        currency: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> schemas.Ticket:
        body = {"title": title, "price": price, "currency": currency}
        found = self._create("/api/tickets", token, body, idempotency_key)
        return schemas.Ticket(**found)

    def update_ticket(
        self,
        token: str | None,
        ticket_id: str,
        *,
        title: str | None = None,
        price: str | None = None,
        currency: str | None = None,
    ) -> schemas.Ticket:
        body = {"title": title, "price": price, "currency": currency}
        path = f"/api/tickets/{_segment(ticket_id)}"
        return schemas.Ticket(**self._request("PUT", path, token, json=body))

    def import_tickets(
        self,
        token: str | None,
        rows: Iterator[ImportRow],
        *,
        dry_run: bool = False,
        skip_invalid: bool = False,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> schemas.ImportReport:
        """Streams the rows as they are read; the server validates the whole upload before
        it writes anything. Not retried: an import is re-runnable by external_id instead."""
        from openticket.app import import_wire

        def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
            for chunk in chunks:
                if on_progress is not None:
                    on_progress("sent", chunk.count(b"\n"))
                yield chunk

        body = self._request(
            "POST",
            "/api/tickets/import",
            token,
            params={"dry_run": dry_run, "skip_invalid": skip_invalid},
            content=counted(import_wire.encode(rows)),
            headers={"Content-Type": import_wire.MEDIA_TYPE},
            timeout=None,
        )
        return schemas.ImportReport.model_validate(body)

    def export_tickets(
        self, token: str | None, *, mine: bool = False
    ) -> Iterator[schemas.ExportRow]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            with self._client.stream(
                "GET",
                "/api/tickets/export",
                params={"mine": mine},
                headers=headers,
                timeout=None,
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise(response)
                for line in response.iter_lines():
                    if line:
                        yield schemas.ExportRow.model_validate_json(line)
        except httpx.TransportError as error:
            raise Unavailable(
                f"Cannot reach the server at {self._base}: {type(error).__name__}"
            ) from None

    def list_orders(self, token: str | None) -> list[schemas.Order]:
        return [schemas.Order(**item) for item in self._request("GET", "/api/orders", token)]

    def create_order(
        self, token: str | None, ticket_id: str, *, idempotency_key: str | None = None
    ) -> schemas.Order:
        body = {"ticket_id": ticket_id}
        return schemas.Order(**self._create("/api/orders", token, body, idempotency_key))

    def create_orders(
        self, requests: list[OrderRequest], *, settled: Callable[[], None] | None = None
    ) -> list[schemas.Order | DomainError]:
        outcomes: list[schemas.Order | DomainError] = []
        for token, ticket_id, key in requests:
            try:
                outcomes.append(self.create_order(token, ticket_id, idempotency_key=key))
            except DomainError as error:
                outcomes.append(error)
        if settled is not None:
            settled()  # the server answered once its consumers had applied them
        return outcomes

    def get_order(self, token: str | None, order_id: str) -> schemas.Order:
        return schemas.Order(**self._request("GET", f"/api/orders/{_segment(order_id)}", token))

    def cancel_order(self, token: str | None, order_id: str) -> schemas.Order:
        path = f"/api/orders/{_segment(order_id)}"
        return schemas.Order(**self._request("DELETE", path, token))

    def pay(
        self, token: str | None, order_id: str, card: str, *, idempotency_key: str | None = None
    ) -> schemas.Payment:
        body = {"order_id": order_id, "token": card}
        return schemas.Payment(**self._create("/api/payments", token, body, idempotency_key))

    def check_payment(self, token: str | None, order_id: str) -> schemas.Payment:
        body = {"order_id": order_id}
        return schemas.Payment(**self._request("POST", "/api/payments/check", token, json=body))

    # -- not served yet -----------------------------------------------------------------
    def events(
        self, after: int = 0, limit: int = 100, *, token: str | None = None
    ) -> list[schemas.Event]:
        """The public events after `after`: at most `limit` of the backlog of /api/events."""
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        params: dict[str, str | int] = {"after": after, "follow": "false", "limit": limit}
        try:
            with self._client.stream(
                "GET", "/api/events", params=params, headers=headers
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise(response)
                found = [
                    schemas.Event(**json.loads(line[len("data: ") :]))
                    for line in response.iter_lines()
                    if line.startswith("data: ")
                ]
        except httpx.TransportError as error:
            raise Unavailable(
                f"Cannot reach the server at {self._base}: {type(error).__name__}"
            ) from None
        return found[:limit]

    def last_event_seq(self) -> int:
        return int(self._request("GET", "/api/events/last")["seq"])

    def reconcile_payments(self, *, fix: bool = False) -> schemas.ReconcileReport:
        raise _not_yet("payments reconcile")

    def demo(self) -> schemas.DemoReport:
        raise _not_yet("demo")


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _not_yet(command: str) -> InvalidInput:
    return InvalidInput(f"`{command}` runs against the local database only (no --server yet)")
