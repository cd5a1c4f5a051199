"""Stripe API servers for the payment tests, on loopback.

- `LocalStripe`: PyPI's localstripe, a stateful Stripe API emulator, in a subprocess.
- `StripeFront`: a FAKE of this project's own, in front of localstripe, for what localstripe
  does not do: declines of Stripe's test cards, card tokens in `payment_method_data`, the
  page of a card that asks for 3-D Secure (`redirect_to_url` for a `return_url`; the test
  plays the buyer on it with `authenticate`),
  Stripe's idempotency-key replays, injected faults (an error status, a dropped connection,
  a response that never comes in time), a hook that runs while a charge is in flight, and a
  record of every request (idempotency keys, amounts, headers) for the tests to inspect.
  It also FAKES Stripe Connect, which localstripe has none of: Express accounts (their
  onboarding finished by the test, `finish_onboarding`), account links, transfers and their
  reversals, in memory, in the shapes Stripe answers with.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from openticket.core.errors import InvalidInput
from openticket.providers.local import outcome_for

TEST_KEY = "sk_test_openticket_0123456789abcdef"
# Stripe's test cards that ask for 3-D Secure on every payment.
AUTHENTICATION_REQUIRED = frozenset({"tok_threeDSecure2Required", "pm_card_threeDSecure2Required"})
_LAUNCH = (
    "import sys\n"
    "from aiohttp import web\n"
    "from localstripe.server import app\n"
    "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None)\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalStripe:
    """localstripe in a subprocess on a free loopback port."""

    def __init__(self) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.05)

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.url}/_config/data", method="DELETE")
        urllib.request.urlopen(request, timeout=10).close()

    def get(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {TEST_KEY}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, form: dict[str, str]) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=urlencode(form).encode(),
            headers={"Authorization": f"Bearer {TEST_KEY}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def payment_intents(self) -> list[dict[str, Any]]:
        return list(self.get("/v1/payment_intents?limit=100")["data"])

    def refunds(self) -> list[dict[str, Any]]:
        return list(self.get("/v1/refunds?limit=100")["data"])

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


@dataclass
class SeenRequest:
    method: str
    path: str
    idempotency_key: str | None
    form: dict[str, str]
    authorized: bool


@dataclass
class Fault:
    """What the front does to the next POST whose path starts with `path`."""

    path: str
    kind: str  # "status" | "drop_before" | "drop_after" | "late_after"
    status: int = 500
    body: dict[str, Any] = field(default_factory=dict)


class StripeFront:
    """The FAKE front described in the module docstring."""

    def __init__(self, upstream: LocalStripe) -> None:
        self.backend = upstream
        self.upstream = urlsplit(upstream.url)
        self.requests: list[SeenRequest] = []
        self.faults: list[Fault] = []
        self.during_charge: Callable[[], None] | None = None
        self.during_transfer: Callable[[], None] | None = None  # before the next transfer
        self.late_seconds = 3.0
        self._replays: dict[str, tuple[int, bytes]] = {}
        self._in_flight: set[str] = set()  # keys whose first request is being answered
        self.accounts: dict[str, dict[str, Any]] = {}
        self.transfers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                front._handle(self)

            def do_POST(self) -> None:
                front._handle(self)

            def do_DELETE(self) -> None:
                front._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    # -- what the tests read ------------------------------------------------------------
    def charges_sent(self) -> list[SeenRequest]:
        return [r for r in self.requests if (r.method, r.path) == ("POST", "/v1/payment_intents")]

    def sent(self, method: str, path_start: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_start)]

    def finish_onboarding(self, account_id: str) -> None:
        """The seller fills in Stripe's onboarding form: charges and payouts are enabled."""
        with self._lock:
            self.accounts[account_id].update(
                charges_enabled=True, payouts_enabled=True, details_submitted=True
            )

    def forget_idempotency_keys(self) -> None:
        """What Stripe does a day after a request: a key sent again makes a new object."""
        with self._lock:
            self._replays.clear()

    def authenticate(self, intent_id: str, *, success: bool = True) -> None:
        """The buyer finishes (or fails) the card's 3-D Secure page of a PaymentIntent."""
        intent = self.backend.get(f"/v1/payment_intents/{intent_id}")
        self.backend.post(
            f"/v1/payment_intents/{intent_id}/_authenticate",
            {"client_secret": intent["client_secret"], "success": str(success).lower()},
        )

    # -- the server -----------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        path, query = urlsplit(handler.path).path, urlsplit(handler.path).query
        if handler.command == "GET":
            form = dict(parse_qsl(query, keep_blank_values=True))
        key = handler.headers.get("Idempotency-Key")
        auth = handler.headers.get("Authorization") or ""
        with self._lock:
            self.requests.append(SeenRequest(handler.command, path, key, form, TEST_KEY in auth))
            replay = self._replays.get(key) if key and handler.command == "POST" else None
            busy = replay is None and key in self._in_flight
            if key and handler.command == "POST" and not busy and replay is None:
                self._in_flight.add(key)
            fault = self._take_fault(handler.command, path)
        if busy:  # as Stripe answers a key whose first request is still being processed
            self._send(handler, 409, json.dumps(_KEY_IN_USE).encode())
            return
        try:
            self._respond(handler, path, form, body, key, replay, fault)
        finally:
            with self._lock:
                if replay is None:
                    self._in_flight.discard(key or "")

    def _respond(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        form: dict[str, str],
        body: bytes,
        key: str | None,
        replay: tuple[int, bytes] | None,
        fault: Fault | None,
    ) -> None:
        if fault is not None and fault.kind == "drop_before":
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            self._send(handler, fault.status, json.dumps(fault.body).encode())
            return
        if replay is not None:
            self._send(handler, *replay, replayed=True)
            return
        status, answer = self._answer(handler, path, form, body)
        if key and handler.command == "POST":
            with self._lock:
                self._replays[key] = (status, answer)
        if fault is not None and fault.kind == "drop_after":
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "late_after":
            self._closing.wait(self.late_seconds)
        self._send(handler, status, answer)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        if method != "POST":
            return None
        for fault in self.faults:
            if path.startswith(fault.path):
                self.faults.remove(fault)
                return fault
        return None

    def _answer(
        self, handler: BaseHTTPRequestHandler, path: str, form: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        connect = self._connect(handler.command, path, form)
        if connect is not None:
            status, found = connect
            return status, json.dumps(found).encode()
        if handler.command == "POST" and path == "/v1/payment_intents":
            # localstripe knows no transfer groups nor return URLs: the record above keeps
            # what was sent
            form = {k: v for k, v in form.items() if k not in ("transfer_group", "return_url")}
            body = urlencode(form).encode()
            if self.during_charge is not None:
                self.during_charge()
            source = form.get("payment_method") or form.get("payment_method_data[card][token]")
            decline = _decline_message(source or "")
            if decline is not None:
                return 402, json.dumps(_card_error(decline, form)).encode()
            if source in AUTHENTICATION_REQUIRED:
                form = {k: v for k, v in form.items() if not k.startswith("payment_method_data")}
                form["payment_method"] = self._authentication_card()
                body = urlencode(form).encode()
            elif "payment_method_data[card][token]" in form:
                # localstripe takes no tokens: a successful test token charges as a test card
                form = {k: v for k, v in form.items() if not k.startswith("payment_method_data")}
                form["payment_method"] = "pm_card_visa"
                body = urlencode(form).encode()
        status, answer = self._forward(handler, body)
        if path.startswith("/v1/payment_intents/") or path == "/v1/payment_intents":
            answer = self._with_authentication_page(answer)
        return status, answer

    def _authentication_card(self) -> str:
        """A card of localstripe's that asks for 3-D Secure (made anew: a test may reset)."""
        method = self.backend.post(
            "/v1/payment_methods",
            {
                "type": "card",
                "card[number]": "4000000000003220",
                "card[exp_month]": "12",
                "card[exp_year]": "2030",
                "card[cvc]": "123",
            },
        )
        return str(method["id"])

    def _with_authentication_page(self, answer: bytes) -> bytes:
        """Stripe's answer for a PaymentIntent confirmed with a `return_url`: the page the
        buyer authenticates on (localstripe answers as for Stripe.js)."""
        try:
            found = json.loads(answer)
        except ValueError:
            return answer
        action = found.get("next_action") if isinstance(found, dict) else None
        if not action or action.get("type") != "use_stripe_sdk":
            return answer
        found["next_action"] = {
            "type": "redirect_to_url",
            "redirect_to_url": {
                "url": f"{self.url}/3ds/{found['id']}",
                "return_url": "https://dashboard.stripe.com/",
            },
        }
        return json.dumps(found).encode()

    def _connect(
        self, method: str, path: str, form: dict[str, str]
    ) -> tuple[int, dict[str, Any]] | None:
        """The FAKE Stripe Connect: None for any other path (localstripe answers those)."""
        parts = path.strip("/").split("/")  # v1, resource, id, sub-resource
        with self._lock:
            if parts[1:] == ["accounts"] and method == "POST":
                account = {
                    "id": f"acct_fake{len(self.accounts) + 1:08d}",
                    "object": "account",
                    "type": form.get("type", "express"),
                    "charges_enabled": False,
                    "payouts_enabled": False,
                    "details_submitted": False,
                    "metadata": _metadata(form),
                }
                self.accounts[account["id"]] = account
                return 200, account
            if parts[1] == "accounts" and len(parts) == 3 and method == "GET":
                found = self.accounts.get(parts[2])
                return (200, found) if found else _missing("account", parts[2])
            if parts[1:] == ["account_links"] and method == "POST":
                if form.get("account") not in self.accounts:
                    return _missing("account", form.get("account", ""))
                url = f"https://connect.stripe.com/setup/e/{form['account']}/fake"
                return 200, {"object": "account_link", "url": url, "expires_at": 0}
            if parts[1:] == ["transfers"] and method == "POST" and self.during_transfer:
                hook, self.during_transfer = self.during_transfer, None  # once
                self._lock.release()  # the hook may call the front again
                try:
                    hook()
                finally:
                    self._lock.acquire()
            if parts[1:] == ["transfers"] and method == "POST":
                destination = self.accounts.get(form.get("destination", ""))
                if destination is None or not destination["payouts_enabled"]:
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "The destination cannot receive transfers",
                        }
                    }
                transfer = {
                    "id": f"tr_fake{len(self.transfers) + 1:08d}",
                    "object": "transfer",
                    "amount": int(form["amount"]),
                    "currency": form["currency"],
                    "destination": destination["id"],
                    "transfer_group": form.get("transfer_group"),
                    "reversed": False,
                    "amount_reversed": 0,
                    "reversals": {"object": "list", "data": []},
                }
                self.transfers[transfer["id"]] = transfer
                return 200, transfer
            if parts[1:] == ["transfers"] and method == "GET":
                group = form.get("transfer_group")
                made = [t for t in self.transfers.values() if group in (None, t["transfer_group"])]
                listed = {"object": "list", "url": "/v1/transfers", "has_more": False}
                return 200, {**listed, "data": list(reversed(made))}  # newest first
            if parts[1] == "transfers" and parts[3:] == ["reversals"] and method == "POST":
                transfer = self.transfers.get(parts[2])
                if transfer is None:
                    return _missing("transfer", parts[2])
                if transfer["reversed"]:
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "transfer_already_reversed",
                            "message": "This transfer is already reversed",
                        }
                    }
                left = transfer["amount"] - transfer["amount_reversed"]
                reversal = {
                    "id": f"trr_fake{len(self.transfers)}{len(transfer['reversals']['data'])}",
                    "object": "transfer_reversal",
                    "amount": min(int(form.get("amount", left)), left),  # all that is left
                    "transfer": transfer["id"],
                }
                transfer["amount_reversed"] += reversal["amount"]
                transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
                transfer["reversals"]["data"].append(reversal)
                return 200, reversal
        return None

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=30
        )
        try:
            headers = {
                name: value
                for name, value in handler.headers.items()
                if name.lower() in ("authorization", "content-type", "stripe-version")
            }
            connection.request(handler.command, handler.path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, *, replayed: bool = False
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(body)


_KEY_IN_USE = {
    "error": {
        "type": "idempotency_error",
        "message": "There is currently another in-progress request using this Idempotent Key "
        "(that probably means you submitted twice, and the other request is still going "
        "through). Please try again later.",
    }
}


def _metadata(form: dict[str, str]) -> dict[str, str]:
    return {key[9:-1]: value for key, value in form.items() if key.startswith("metadata[")}


def _missing(kind: str, object_id: str) -> tuple[int, dict[str, Any]]:
    message = f"No such {kind}: '{object_id}'"
    return 404, {"error": {"type": "invalid_request_error", "message": message}}


def _decline_message(source: str) -> str | None:
    if "chargeDeclined" not in source:
        return None
    try:
        return outcome_for(source) or "Your card was declined."
    except InvalidInput:
        return "Your card was declined."


def _card_error(message: str, form: dict[str, str]) -> dict[str, Any]:
    """Stripe's answer to a declined confirm: a 402 card_error naming the PaymentIntent."""
    return {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "message": message,
            "payment_intent": {
                "id": f"pi_front_{len(form)}_{int(time.monotonic() * 1000)}",
                "object": "payment_intent",
                "status": "requires_payment_method",
                "amount": int(form.get("amount", "0")),
                "currency": form.get("currency", ""),
            },
        }
    }


def orphan_charge(base: str, key: str, amount: int) -> str:
    """A USD charge made at Stripe with our metadata but no payment recording it (e.g. a store
    restored from an old backup); its PaymentIntent id."""
    import stripe

    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": base})
    intent = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "usd",
            "confirm": True,
            "payment_method": "pm_card_visa",
            "payment_method_types": ["card"],
            "metadata": {"openticket_key": key},
        }
    )
    return intent.id


def stripe_signature(payload: bytes, secret: str, at: int | None = None) -> str:
    """A `Stripe-Signature` header as Stripe makes it (its documented scheme: an HMAC-SHA256
    of "<timestamp>.<body>" with the endpoint's secret), for the test's webhook sender."""
    import hashlib
    import hmac

    timestamp = int(time.time()) if at is None else at
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def send_webhook(
    server: str, event: dict[str, Any], secret: str, *, at: int | None = None
) -> tuple[int, Any]:
    """POST `event` to a server's Stripe webhook as Stripe would; (status, JSON body)."""
    payload = json.dumps(event).encode()
    request = urllib.request.Request(
        f"{server}/api/stripe/webhook",
        data=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature(payload, secret, at),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())
