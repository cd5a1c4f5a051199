"""The HTTP API of a real `openticket serve`: every route's errors in the contract's shape,
who may do what, token revocation, and sign-in throttling."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("http")
    (root / "home").mkdir()
    # Many sign-ups from this one address: the per-address limit has its own test.
    with running_server(
        root / "db.sqlite", root / "home", OPENTICKET_SIGNUPS_PER_MINUTE="100000"
    ) as url:
        yield url


@pytest.fixture
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def _signup(http: httpx.Client, email: str) -> dict[str, str]:
    response = http.post("/api/users/signup", json={"email": email, "password": "long enough"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _errors(response: httpx.Response, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"} and body["errors"]
    for error in body["errors"]:
        assert set(error) == {"message", "field"}
    return list(body["errors"])


@pytest.fixture
def market(http: httpx.Client) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:12]
    owner = _signup(http, f"owner-{tag}@example.com")
    buyer = _signup(http, f"buyer-{tag}@example.com")
    stranger = _signup(http, f"stranger-{tag}@example.com")
    ticket = http.post("/api/tickets", json={"title": "Seat", "price": "20"}, headers=owner).json()
    held = http.post("/api/tickets", json={"title": "Held", "price": 20}, headers=owner).json()
    order = http.post("/api/orders", json={"ticket_id": held["id"]}, headers=buyer).json()
    return {
        "owner": owner,
        "buyer": buyer,
        "stranger": stranger,
        "nobody": {},
        "ticket": ticket,
        "held": held,
        "order": order,
    }


def test_health_and_openapi(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    paths = http.get("/openapi.json").json()["paths"]
    assert {
        "/api/users/signup",
        "/api/users/signin",
        "/api/users/signout",
        "/api/users/currentuser",
        "/api/tickets",
        "/api/tickets/{ticket_id}",
        "/api/orders",
        "/api/orders/{order_id}",
        "/api/payments",
        "/api/events",
    } <= set(paths)


def test_a_wrong_method_names_every_method_the_path_serves(http: httpx.Client) -> None:
    for path, methods in {
        "/api/tickets": {"GET", "POST"},
        "/api/tickets/abc": {"GET", "PUT"},
        "/api/orders/abc": {"GET", "DELETE"},
    }.items():
        response = http.request("PATCH", path)
        _errors(response, 405)
        assert set(response.headers["Allow"].split(", ")) - {"HEAD"} == methods


def test_the_document_declares_the_signup_rules(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    signup = schemas["SignupBody"]["properties"]
    assert signup["password"]["minLength"] == 8
    assert "pattern" in signup["email"]
    refused = http.post("/api/users/signup", json={"email": "no-at-sign", "password": "short"})
    assert {e["field"] for e in _errors(refused, 400)} == {"email", "password"}


def test_signup_and_signin_shapes(http: httpx.Client) -> None:
    response = http.post(
        "/api/users/signup", json={"email": "Shape@Example.com", "password": "long enough"}
    )
    assert response.status_code == 201
    assert set(response.json()) == {"user", "token"}
    assert response.json()["user"]["email"] == "shape@example.com"
    signed = http.post(
        "/api/users/signin", json={"email": "shape@example.com", "password": "long enough"}
    )
    assert signed.status_code == 200
    who = http.get(
        "/api/users/currentuser", headers={"Authorization": f"Bearer {signed.json()['token']}"}
    )
    assert who.json() == {"current_user": response.json()["user"]}
    assert http.get("/api/users/currentuser").json() == {"current_user": None}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/users/signup", {"email": "bad", "password": "long enough"}, 400),
        ("POST", "/api/users/signup", {"email": "x@example.com", "password": "short"}, 400),
        ("POST", "/api/users/signup", {"email": "x@example.com"}, 422),
        ("POST", "/api/users/signin", {"email": "ghost@example.com", "password": "whatever1"}, 400),
        ("POST", "/api/users/signin", "not json", 422),
        ("POST", "/api/tickets", {"title": "t", "price": "12.345"}, 400),
        ("POST", "/api/tickets", {"title": "t", "price": 1e308}, 400),
        ("POST", "/api/tickets", {"title": "", "price": "5"}, 400),
        ("POST", "/api/tickets", {"title": "t", "price": "5", "currency": "XYZ"}, 400),
        ("POST", "/api/tickets", {"title": ["t"], "price": "5"}, 422),
        ("GET", "/api/tickets/does-not-exist", None, 404),
        ("GET", "/api/tickets?limit=0", None, 422),
        ("GET", "/api/tickets?limit=abc", None, 422),
        ("GET", "/api/orders/does-not-exist", None, 404),
        ("POST", "/api/orders", {"ticket_id": "does-not-exist"}, 404),
        ("POST", "/api/orders", {}, 422),
        ("POST", "/api/payments", {"order_id": "does-not-exist", "token": "tok_visa"}, 404),
        ("GET", "/no/such/route", None, 404),
    ],
)
def test_bad_requests_get_the_error_shape(
    http: httpx.Client, market: dict[str, Any], method: str, path: str, body: Any, status: int
) -> None:
    kwargs: dict[str, Any] = {"headers": market["owner"]}
    if isinstance(body, str):
        kwargs["content"] = body
        kwargs["headers"] = market["owner"] | {"Content-Type": "application/json"}
    elif body is not None:
        kwargs["json"] = body
    _errors(http.request(method, path, **kwargs), status)


ROUTES = [  # (name, method, path template, body template)
    ("update ticket", "PUT", "/api/tickets/{ticket}", {"price": "30"}),
    ("show order", "GET", "/api/orders/{order}", None),
    ("cancel order", "DELETE", "/api/orders/{order}", None),
    ("pay", "POST", "/api/payments", {"order_id": "{order}", "token": "tok_visa"}),
    ("reserve", "POST", "/api/orders", {"ticket_id": "{ticket}"}),
    ("list orders", "GET", "/api/orders", None),
    ("create ticket", "POST", "/api/tickets", {"title": "New", "price": "9"}),
]
# Who gets which status: the owner of the ticket, the buyer holding the order, a stranger,
# and nobody signed in.
EXPECTED = {
    "update ticket": {"owner": 200, "buyer": 403, "stranger": 403, "nobody": 401},
    "show order": {"owner": 403, "buyer": 200, "stranger": 403, "nobody": 401},
    "cancel order": {"owner": 403, "buyer": 200, "stranger": 403, "nobody": 401},
    "pay": {"owner": 403, "buyer": 201, "stranger": 403, "nobody": 401},
    "reserve": {"owner": 403, "buyer": 201, "stranger": 201, "nobody": 401},
    "list orders": {"owner": 200, "buyer": 200, "stranger": 200, "nobody": 401},
    "create ticket": {"owner": 201, "buyer": 201, "stranger": 201, "nobody": 401},
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, str):
        return value.format(**ids)
    return value


@pytest.mark.parametrize("who", ["owner", "buyer", "stranger", "nobody"])
@pytest.mark.parametrize("route", ROUTES, ids=[r[0] for r in ROUTES])
def test_authorization_matrix(
    http: httpx.Client, market: dict[str, Any], route: tuple[str, str, str, Any], who: str
) -> None:
    name, method, path, body = route
    ids = {"ticket": market["ticket"]["id"], "order": market["order"]["id"]}
    response = http.request(method, path.format(**ids), json=_fill(body, ids), headers=market[who])
    expected = EXPECTED[name][who]
    assert response.status_code == expected, response.text
    if expected >= 400:
        _errors(response, expected)


def test_signout_revokes_the_token(http: httpx.Client) -> None:
    headers = _signup(http, "leaving@example.com")
    assert http.post("/api/users/signout", headers=headers).json() == {}
    _errors(http.post("/api/tickets", json={"title": "t", "price": "5"}, headers=headers), 401)
    assert http.get("/api/users/currentuser", headers=headers).json() == {"current_user": None}


def test_signin_is_throttled_per_account(http: httpx.Client) -> None:
    _signup(http, "target@example.com")
    codes = [
        http.post(
            "/api/users/signin", json={"email": "target@example.com", "password": f"guess {i}"}
        ).status_code
        for i in range(10)
    ]
    assert codes == [400] * 10
    throttled = http.post(
        "/api/users/signin", json={"email": "TARGET@example.com", "password": "long enough"}
    )
    _errors(throttled, 429)
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    # Another account from the same address is not locked out by this one.
    _signup(http, "bystander@example.com")
    ok = http.post(
        "/api/users/signin", json={"email": "bystander@example.com", "password": "long enough"}
    )
    assert ok.status_code == 200


def test_idempotency_keys_make_creating_requests_safe_to_retry(http: httpx.Client) -> None:
    seller = _signup(http, f"idem-seller-{uuid.uuid4().hex[:8]}@example.com")
    buyer = _signup(http, f"idem-buyer-{uuid.uuid4().hex[:8]}@example.com")
    body = {"title": "Once", "price": "15"}
    first = http.post("/api/tickets", json=body, headers=seller | {"Idempotency-Key": "t-1"})
    again = http.post("/api/tickets", json=body, headers=seller | {"Idempotency-Key": "t-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    mine = http.get("/api/tickets", params={"mine": True}, headers=seller).json()
    assert [t["id"] for t in mine] == [first.json()["id"]]
    other = http.post(
        "/api/tickets",
        json={"title": "Other", "price": "15"},
        headers=seller | {"Idempotency-Key": "t-1"},
    )
    assert "different request" in _errors(other, 409)[0]["message"]

    order_body = {"ticket_id": first.json()["id"]}
    order = http.post("/api/orders", json=order_body, headers=buyer | {"Idempotency-Key": "o-1"})
    order_again = http.post(
        "/api/orders", json=order_body, headers=buyer | {"Idempotency-Key": "o-1"}
    )
    assert order.status_code == order_again.status_code == 201
    assert order_again.json() == order.json()

    pay_body = {"order_id": order.json()["id"], "token": "tok_visa"}
    paid = http.post("/api/payments", json=pay_body, headers=buyer | {"Idempotency-Key": "p-1"})
    paid_again = http.post(
        "/api/payments", json=pay_body, headers=buyer | {"Idempotency-Key": "p-1"}
    )
    assert paid.status_code == paid_again.status_code == 201
    assert paid_again.json() == paid.json()
    # Without the key, the repeat is refused as a second payment, as before.
    _errors(http.post("/api/payments", json=pay_body, headers=buyer), 409)
    # Keys are per user: another user's same key is a new request.
    stranger = _signup(http, f"idem-other-{uuid.uuid4().hex[:8]}@example.com")
    theirs = http.post("/api/tickets", json=body, headers=stranger | {"Idempotency-Key": "t-1"})
    assert theirs.status_code == 201 and theirs.json()["id"] != first.json()["id"]


def test_import_and_export_routes(http: httpx.Client) -> None:
    owner = _signup(http, f"importer-{uuid.uuid4().hex[:12]}@example.com")
    ext = uuid.uuid4().hex[:8]
    rows = (
        f'{{"line": 2, "title": "Upload A", "price": "10", "external_id": "{ext}-a"}}\n'
        f'{{"line": 3, "title": "Upload B", "price": 0, "external_id": "{ext}-b"}}\n'
    )
    ndjson = {"Content-Type": "application/x-ndjson"}
    _errors(http.post("/api/tickets/import", content=rows, headers=ndjson), 401)
    refused = http.post("/api/tickets/import", content=rows, headers=ndjson | owner)
    assert refused.status_code == 200
    assert refused.json()["created"] == 0 and refused.json()["errors"][0]["line"] == 3
    kept = http.post(
        "/api/tickets/import",
        params={"skip_invalid": True},
        content=rows,
        headers=ndjson | owner,
    ).json()
    assert (kept["created"], kept["skipped"]) == (1, 1)
    malformed = http.post("/api/tickets/import", content="not json\n", headers=ndjson | owner)
    assert _errors(malformed, 400)[0]["field"] == "body"

    _errors(http.get("/api/tickets/export", params={"mine": True}), 401)
    exported = http.get("/api/tickets/export", params={"mine": True}, headers=owner)
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [line for line in exported.text.splitlines() if line]
    assert [json.loads(line) for line in lines] == [
        {"title": "Upload A", "price": "10.00", "currency": "USD", "external_id": f"{ext}-a"}
    ]


def test_counting_tickets_matches_the_listing(http: httpx.Client, market: dict[str, Any]) -> None:
    owner = market["owner"]
    everyone = http.get("/api/tickets", params={"limit": 1000}).json()
    counted = http.get("/api/tickets/count")
    assert counted.status_code == 200 and counted.json() == {"count": len(everyone)}
    mine = http.get("/api/tickets/count", params={"mine": True}, headers=owner).json()
    assert mine == {"count": 2}  # the reserved one too: a seller sees all of theirs
    held = http.get("/api/tickets/count", params={"mine": True, "search": "hEl"}, headers=owner)
    assert held.json() == {"count": 1}
    _errors(http.get("/api/tickets/count", params={"mine": True}), 401)
    _errors(http.get("/api/tickets/count", params={"search": "x" * 201}), 422)
