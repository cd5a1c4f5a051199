"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis), against
a real `openticket serve`: over at least 1,000 generated requests, no 500 and no response the
document does not describe (status code, content type, headers, body schema), and requests
the document forbids are refused with a 4xx.

One check is left out: `positive_data_acceptance` expects every schema-valid request to be
accepted, but the API refuses some by business rule with a 400 in the contract's shape (a
wrong password is "Invalid credentials" with 400, as in the original; a price of 0.001 has
the right type and the wrong value).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from openticket.app import import_wire
from tests.conftest import running_server

MIN_CASES = 1000
EXAMPLES_PER_OPERATION = 120
# Endless text/event-streams: tested in test_server_events.py and test_watch_journey.py
STREAMING = ("/api/events", "/api/me/events")


@schemathesis.serializer(import_wire.MEDIA_TYPE)
def _json_lines(_context: schemathesis.SerializationContext, value: object) -> bytes:
    rows = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    (root / "home").mkdir()
    # Many sign-ups from this one address: the per-address limit has its own test.
    with running_server(
        root / "db.sqlite", root / "home", OPENTICKET_SIGNUPS_PER_MINUTE="100000"
    ) as url:
        yield url


def _token(server: str) -> str:
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    response = httpx.post(
        f"{server}/api/users/signup", json={"email": email, "password": "long enough"}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_generated_requests_get_documented_answers_and_never_a_500(server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    # Signing out revokes the token it is sent with: those cases get a token of their own.
    tokens = {"default": _token(server), "signout": _token(server)}
    ran: dict[str, int] = {}

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in STREAMING:
            continue
        token = tokens["signout" if operation.path.endswith("/signout") else "default"]
        ran[f"{operation.method.upper()} {operation.path}"] = _fuzz(operation, server, token)

    assert len(ran) >= 14, sorted(ran)  # every route but the event stream was exercised
    assert sum(ran.values()) >= MIN_CASES, ran


def _fuzz(operation: schemathesis.APIOperation, server: str, token: str) -> int:
    """Run generated requests for one operation; how many ran."""
    count = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exercise(case: schemathesis.Case) -> None:
        nonlocal count
        headers = {"Authorization": f"Bearer {token}"}
        if case.headers and "Authorization" in case.headers:
            headers = {}  # the generated (usually bogus) credentials are the point
        case.call_and_validate(
            base_url=server,
            headers=headers,
            excluded_checks=[positive_data_acceptance],
            timeout=30,
        )
        count += 1

    exercise()
    return count
