"""Outgoing webhooks through the real `openticket` console script, to a real HTTP receiver on
loopback (the operator allows private addresses for it: OPENTICKET_WEBHOOK_ALLOW_PRIVATE=1):
embedded (`webhooks send` sends), through a real `openticket serve` and scaled out on
PostgreSQL + NATS (the server's or notify worker's loop sends). A `serve` killed with -9
while a delivery is on the wire sends it again after a restart, under the same id."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    User,
    eventually,
    free_port,
    marketplace,
    running_server,
    signed_up,
)
from tests.webhook_receiver import WebhookReceiver

PASSWORD = "correct horse"
HOSTILE = "Opera [/] [bold]x[/bold] <b>"
ALLOW = {"OPENTICKET_WEBHOOK_ALLOW_PRIVATE": "1"}


@pytest.fixture(params=["embedded", "server", "nats"])
def people(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., User]]:
    with marketplace(request.param, tmp_path, **ALLOW) as person:
        yield lambda name, **env: person(name, **(ALLOW | env))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    found = WebhookReceiver()
    yield found
    found.close()


def _person(people: Callable[..., User], name: str) -> User:
    someone = people(name)
    signed_up(someone, f"{name}@example.com", PASSWORD)
    return someone


def _delivered(user: User, receiver: WebhookReceiver, count: int) -> list[Any]:
    def arrived() -> list[Any] | None:
        user.ok("webhooks", "send")  # embedded: this sends; a server sends by itself
        return receiver.received if len(receiver.received) >= count else None

    found: list[Any] = eventually(arrived, what=f"{count} webhook deliveries")
    return found


def test_news_reaches_the_endpoint_signed_and_logged(
    people: Callable[..., User], receiver: WebhookReceiver
) -> None:
    seller, watcher = _person(people, "seller"), _person(people, "watcher")
    added = watcher.ok("webhooks", "add", receiver.url, "--events", "watch:matched")
    assert set(added) == {"id", "url", "events", "status", "status_reason", "created_at", "secret"}
    assert (added["url"], added["events"], added["status"]) == (
        receiver.url,
        ["watch:matched"],
        "active",
    )
    secret = added["secret"]
    assert [w["secret"] for w in watcher.ok("webhooks", "list")] == [None]  # shown once
    watcher.ok("watch", "add", "--search", "opera")
    ticket = seller.ok("tickets", "create", "--title", HOSTILE, "--price", "30.00")

    [got] = _delivered(watcher, receiver, 1)
    assert got.signed_with(secret)
    assert got.data["type"] == "watch:matched"
    assert got.data["data"]["ticket"]["id"] == ticket["id"]
    assert got.data["data"]["ticket"]["title"] == HOSTILE

    def logged() -> list[dict[str, Any]] | None:
        found = watcher.ok("webhooks", "deliveries", added["id"])
        return found if found and found[0]["status"] == "delivered" else None

    [entry] = eventually(logged, what="the delivery logged")
    assert entry["id"] == got.headers["x-openticket-delivery"] == got.data["id"]
    shown = watcher.run("webhooks", "deliveries", added["id"])
    assert shown.code == 0 and "delivered" in shown.stdout


def test_bad_webhooks_are_one_line_errors(people: Callable[..., User]) -> None:
    [owner] = [_person(people, "owner")]
    bad = owner.run("webhooks", "add", "ftp://example.com/", "--json")
    assert bad.code == 1 and bad.error_json()["errors"][0]["field"] == "url"
    kind = owner.run("webhooks", "add", "https://example.com/", "--events", "x", "--json")
    assert kind.code == 1 and "Unknown event" in kind.error_json()["errors"][0]["message"]
    unknown = owner.run("webhooks", "deliveries", "0" * 32)
    assert unknown.code == 4 and unknown.stderr.count("\n") == 1
    assert "Traceback" not in unknown.stderr
    assert owner.run("webhooks", "remove", "../../api/tickets").code == 4
    assert people("anonymous").run("webhooks", "list").code == 3
    assert owner.ok("webhooks", "list") == []


def test_a_private_address_is_refused_without_the_setting(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    user = User(tmp_path / "home", tmp_path / "db.sqlite")
    signed_up(user, "user@example.com", PASSWORD)
    refused = user.run("webhooks", "add", receiver.url, "--json")
    assert refused.code == 1
    assert "OPENTICKET_WEBHOOK_ALLOW_PRIVATE" in refused.error_json()["errors"][0]["message"]
    assert user.ok("webhooks", "list") == []


def test_a_sender_killed_mid_delivery_sends_it_again_after_restart_under_the_same_id(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    db = tmp_path / "db.sqlite"
    (tmp_path / "server").mkdir()
    started: list[subprocess.Popen[bytes]] = []
    port = free_port()  # the same marketplace after the restart: its users stay signed in
    with running_server(db, tmp_path / "server", port, started, **ALLOW) as url:
        seller = User(tmp_path / "a", db, {"OPENTICKET_SERVER": url})
        watcher = User(tmp_path / "b", db, {"OPENTICKET_SERVER": url})
        signed_up(seller, "seller@example.com", PASSWORD)
        signed_up(watcher, "watcher@example.com", PASSWORD)
        webhook = watcher.ok("webhooks", "add", receiver.url)
        watcher.ok("watch", "add", "--search", "opera")
        receiver.holding.set()  # the first request is kept waiting, unanswered
        seller.ok("tickets", "create", "--title", "Opera", "--price", "30.00")
        eventually(receiver.held.is_set, what="a delivery on the wire")
        os.kill(started[0].pid, signal.SIGKILL)
        started[0].wait()
    receiver.release()
    held = receiver.held_request
    assert held is not None and receiver.received == []

    (tmp_path / "server-again").mkdir()
    with running_server(db, tmp_path / "server-again", port, **ALLOW) as url:
        watcher = User(tmp_path / "b", db, {"OPENTICKET_SERVER": url})
        [again] = _delivered(watcher, receiver, 1)  # once its lease has ended
        assert again.headers["x-openticket-delivery"] == held.headers["x-openticket-delivery"]
        assert again.body == held.body
        [entry] = watcher.ok("webhooks", "deliveries", webhook["id"])
        assert (entry["status"], entry["attempts"]) == ("delivered", 2)
