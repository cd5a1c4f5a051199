"""Bad requests to a real `openticket serve`, on SQLite and PostgreSQL: each is a 4xx in the
error shape, never a 500 or a cut stream, and the server keeps serving."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import postgres_database, running_server

LONE = "\\ud800"  # a JSON escape for an unpaired surrogate
_NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("bad-input")
    (root / "home").mkdir()
    with contextlib.ExitStack() as stack:
        db: Path | str = root / "db.sqlite"
        if request.param == "postgresql":
            db = stack.enter_context(postgres_database())
        yield stack.enter_context(
            running_server(db, root / "home", OPENTICKET_SIGNUPS_PER_MINUTE="1000")
        )


@pytest.fixture(scope="module")
def market(server: str) -> dict[str, Any]:
    with httpx.Client(base_url=server, timeout=60) as http:

        def sign_up(email: str) -> dict[str, str]:
            body = {"email": email, "password": "long enough"}
            answer = http.post("/api/users/signup", json=body)
            assert answer.status_code == 201, answer.text
            return {"Authorization": f"Bearer {answer.json()['token']}"}

        seller, buyer = sign_up("seller@example.com"), sign_up("buyer@example.com")
        ticket = http.post("/api/tickets", json={"title": "Opera", "price": "20"}, headers=seller)
        order = http.post("/api/orders", json={"ticket_id": ticket.json()["id"]}, headers=buyer)
        return {"seller": seller, "buyer": buyer, "order": order.json()["id"]}


def _raw(body: str) -> dict[str, Any]:
    return {"content": body.encode(), "headers": {"Content-Type": "application/json"}}


def _cases(market: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str]]:
    order = market["order"]
    upload = (
        '{"line": 2, "title": ["x"], "price": "5"}\n'
        f'{{"line": 3, "title": "T{LONE}", "price": true}}\n'
    ).encode()
    return [
        (
            "POST",
            "/api/users/signup",
            _raw(f'{{"email": "a{LONE}@x.com", "password": "long enough"}}'),
            "seller",
        ),
        (
            "POST",
            "/api/users/signup",
            _raw(f'{{"email": "b@example.com", "password": "pass{LONE}word"}}'),
            "seller",
        ),
        (
            "POST",
            "/api/users/signin",
            _raw(f'{{"email": "seller@example.com", "password": "{LONE}xxxxxxx"}}'),
            "seller",
        ),
        (
            "POST",
            "/api/users/signin",
            _raw('{"email": "a\\u0000@example.com", "password": "long enough"}'),
            "seller",
        ),
        (
            "POST",
            "/api/users/signin",
            {"json": {"email": "seller@example.com", "password": "p" * 4097}},
            "seller",
        ),
        ("POST", "/api/tickets", _raw(f'{{"title": "T{LONE}", "price": "5"}}'), "seller"),
        ("POST", "/api/tickets", _raw('{"title": "T\\u0000", "price": "5"}'), "seller"),
        (
            "POST",
            "/api/tickets",
            _raw(f'{{"title": "T", "price": "5", "currency": "{LONE}"}}'),
            "seller",
        ),
        ("POST", "/api/tickets", {"json": {"title": "T", "price": "\u0661\u0660"}}, "seller"),
        ("POST", "/api/orders", _raw(f'{{"ticket_id": "{LONE}"}}'), "buyer"),
        ("POST", "/api/orders", _raw('{"ticket_id": "\\u0000"}'), "buyer"),
        (
            "POST",
            "/api/payments",
            _raw(f'{{"order_id": "{order}", "token": "tok_{LONE}"}}'),
            "buyer",
        ),
        ("POST", "/api/payments", {"json": {"order_id": order, "token": "t" * 300}}, "buyer"),
        ("POST", "/api/payments", _raw(f'{{"order_id": "{LONE}", "token": "tok_visa"}}'), "buyer"),
        ("GET", "/api/tickets/%00", {}, "buyer"),
        ("GET", "/api/tickets/%ED%A0%80", {}, "buyer"),
        ("GET", "/api/orders/%00x", {}, "buyer"),
        ("DELETE", "/api/orders/%00", {}, "buyer"),
        ("GET", "/api/tickets?search=%00", {}, "buyer"),
        ("GET", "/api/tickets?offset=99999999999999999999999", {}, "buyer"),
        ("GET", "/api/events?after=99999999999999999999999", {}, "buyer"),
        ("GET", "/api/events", {"headers": {"Last-Event-ID": "1" * 4301}}, "buyer"),
        ("POST", "/api/tickets", {"json": {"title": "T", "price": True}}, "seller"),
        (
            "POST",
            "/api/tickets/import",
            {"content": b"[" * 5000 + b"]" * 5000 + b"\n", "headers": _NDJSON},
            "seller",
        ),
        (
            "POST",
            "/api/tickets/import",
            {"content": b'{"line": ' + b"9" * 5000 + b"}\n", "headers": _NDJSON},
            "seller",
        ),
        (
            "POST",
            "/api/tickets/import",
            {"content": upload, "headers": _NDJSON},
            "seller",
        ),
    ]


def test_bad_requests_are_4xx_in_the_error_shape(server: str, market: dict[str, Any]) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        for method, path, request, who in _cases(market):
            headers = {**market[who], **request.get("headers", {})}
            extra = {k: v for k, v in request.items() if k != "headers"}
            answer = http.request(method, path, headers=headers, **extra)
            where = f"{method} {path} {request}"
            assert 400 <= answer.status_code < 500 or (
                path == "/api/tickets/import" and answer.status_code == 200
            ), f"{where}: {answer.status_code} {answer.text}"
            assert "sys." not in answer.text and "codec" not in answer.text, where
            body = answer.json()
            if answer.status_code == 200:  # an import report names every bad row
                assert [e["line"] for e in body["errors"]] == [2, 3] and body["created"] == 0
            else:
                assert body["errors"] and "message" in body["errors"][0], where
        # Bytes that are not UTF-8 in a query are read as replacement characters: text.
        undecodable = http.get("/api/tickets?search=%ED%A0%80", headers=market["buyer"])
        assert undecodable.status_code == 200 and undecodable.json() == []
        assert http.get("/healthz").status_code == 200
        pay = http.post(
            "/api/payments",
            json={"order_id": market["order"], "token": "tok_visa"},
            headers=market["buyer"],
        )
        assert pay.status_code == 201  # nothing above changed the order
