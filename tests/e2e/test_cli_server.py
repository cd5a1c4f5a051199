"""The CLI against a real `openticket serve`: the same answers, and a clear exit 6 when the
server cannot be reached. (The journey itself runs in both modes in test_cli_journey.py.)"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.conftest import User, free_port, running_server, signed_up


def test_unreachable_server_is_exit_6(people: Callable[..., User]) -> None:
    person = people("remote", OPENTICKET_SERVER=f"http://127.0.0.1:{free_port()}")
    result = person.run("tickets", "list")
    assert result.code == 6
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Cannot reach the server")
    as_json = person.run("tickets", "list", "--json")
    assert as_json.code == 6 and as_json.error_json()["errors"][0]["message"]


def test_same_errors_and_codes_as_embedded(tmp_path: Path) -> None:
    (tmp_path / "server-home").mkdir()
    with running_server(tmp_path / "db.sqlite", tmp_path / "server-home") as url:
        seller = User(tmp_path / "a", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        other = User(tmp_path / "b", tmp_path / "db.sqlite", {"OPENTICKET_SERVER": url})
        signed_up(seller, "seller@example.com")
        signed_up(other, "other@example.com")
        bad = seller.run(
            "tickets", "create", "--title", "x", "--price", "12.5", "--currency", "JPY", "--json"
        )
        assert bad.code == 1
        assert bad.error_json() == {
            "errors": [{"message": "JPY prices take no decimal places", "field": "price"}]
        }
        ticket = seller.ok("tickets", "create", "--title", "Remote seat", "--price", "9")
        assert other.run("tickets", "update", ticket["id"], "--price", "10").code == 3
        assert other.run("orders", "show", "missing").code == 4
        assert seller.run("orders", "create", ticket["id"]).code == 3
        assert other.run("auth", "signup", "SELLER@example.com", "--password", "x" * 9).code == 5
        assert seller.ok("auth", "signout") == {}
        assert seller.run("auth", "whoami").code == 3
        with urllib.request.urlopen(f"{url}/openapi.json") as response:
            document = json.load(response)
        assert {"/api/tickets", "/api/orders", "/api/payments", "/healthz"} <= set(
            document["paths"]
        )
