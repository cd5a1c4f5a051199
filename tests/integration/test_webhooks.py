"""Outgoing webhooks through the Api in process, on both stores, to a real HTTP receiver on
loopback, with the clock in the test's hand: deliveries are signed, retried with a growing
gap (the same id and bytes each time) until a 2xx, given up after three days, stopped by a
410; only the kinds asked for are sent; addresses on the inside are refused unless the
operator allows them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from openticket.app.local import LocalApi
from openticket.core.errors import Conflict, InvalidInput, NotFound
from openticket.core.notify.webhooks import service as webhooks
from openticket.core.notify.webhooks.model import LEASE, WEBHOOKS_PER_USER
from openticket.core.notify.webhooks.service import Attempt
from openticket.providers.webhook_http import HttpWebhookTransport
from tests.conftest import ManualClock, free_port
from tests.modes import on_both_stores  # noqa: F401  (db_url: each test on both)
from tests.webhook_receiver import WebhookReceiver

PASSWORD = "correct horse"
HOSTILE = "Opera [/] [bold]x[/bold] <b>"


@pytest.fixture
def market(make_api: Callable[..., LocalApi]) -> LocalApi:
    return make_api(settings={"webhook_allow_private": True})


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    found = WebhookReceiver()
    yield found
    found.close()


def _people(api: LocalApi, *names: str) -> list[str]:
    return [api.signup(f"{name}@example.com", PASSWORD).token for name in names]


def _a_watch_hit(api: LocalApi, seller: str, watcher: str, title: str = HOSTILE) -> None:
    api.add_watch(watcher, "opera")
    api.create_ticket(seller, title, "20.00")


def test_a_delivery_is_signed_and_names_its_idempotency_id(
    market: LocalApi, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    seller, watcher = _people(market, "seller", "watcher")
    webhook = market.add_webhook(watcher, receiver.url)
    assert webhook.secret is not None and webhook.secret.startswith("whsec_")
    assert market.webhooks(watcher)[0].secret is None  # shown once
    _a_watch_hit(market, seller, watcher)

    assert market.send_webhooks(watcher) == 1
    [got] = receiver.received
    assert got.signed_with(webhook.secret)
    assert not got.signed_with(webhook.secret + "x")
    assert got.headers["x-openticket-signature"].startswith(f"t={int(clock.now.timestamp())},")
    assert got.headers["x-openticket-event"] == "watch:matched"
    body = got.data
    assert got.headers["x-openticket-delivery"] == body["id"]
    assert body["type"] == "watch:matched" and body["data"]["ticket"]["title"] == HOSTILE
    [news] = market.notifications(watcher)
    assert body["notification_id"] == news.id and body["data"] == news.data

    [delivery] = market.webhook_deliveries(watcher, webhook.id)
    assert (delivery.id, delivery.status, delivery.attempts, delivery.last_status) == (
        body["id"],
        "delivered",
        1,
        200,
    )
    assert market.send_webhooks(watcher) == 0  # nothing is sent twice


def test_a_refusal_is_retried_with_the_same_id_and_bytes_until_delivered(
    market: LocalApi, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    seller, watcher = _people(market, "seller", "watcher")
    webhook = market.add_webhook(watcher, receiver.url)
    receiver.statuses = [500]
    _a_watch_hit(market, seller, watcher)

    market.send_webhooks(watcher)
    [pending] = market.webhook_deliveries(watcher, webhook.id)
    assert (pending.status, pending.attempts, pending.last_status) == ("pending", 1, 500)
    assert pending.next_attempt_at is not None
    wait = datetime.fromisoformat(pending.next_attempt_at) - clock.now
    assert wait.total_seconds() == 30
    assert market.send_webhooks(watcher) == 0  # not due yet

    clock.advance(30)
    assert market.send_webhooks(watcher) == 1
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["x-openticket-delivery"] == second.headers["x-openticket-delivery"]
    [delivered] = market.webhook_deliveries(watcher, webhook.id)
    assert (delivered.status, delivered.attempts, delivered.next_attempt_at) == (
        "delivered",
        2,
        None,
    )


def test_a_receiver_that_never_answers_well_is_given_up_after_three_days(
    market: LocalApi, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    seller, watcher = _people(market, "seller", "watcher")
    webhook = market.add_webhook(watcher, receiver.url)
    receiver.statuses = [503] * 100
    _a_watch_hit(market, seller, watcher)
    made = clock.now
    gaps = []
    while (found := market.webhook_deliveries(watcher, webhook.id)[0]).status == "pending":
        market.send_webhooks(watcher)
        after = market.webhook_deliveries(watcher, webhook.id)[0]
        if after.next_attempt_at is not None:
            at = datetime.fromisoformat(after.next_attempt_at)
            gaps.append((at - clock.now).total_seconds())
            clock.now = at
    assert found.status == "failed" and found.last_status == 503
    assert gaps[:4] == [30, 60, 120, 240] and max(gaps) == 6 * 3600
    assert (clock.now - made).days <= 3
    assert len(receiver.received) == found.attempts


def test_a_410_turns_the_endpoint_off(
    market: LocalApi, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    seller, watcher = _people(market, "seller", "watcher")
    webhook = market.add_webhook(watcher, receiver.url)
    receiver.statuses = [410]
    _a_watch_hit(market, seller, watcher)
    market.send_webhooks(watcher)

    [off] = market.webhooks(watcher)
    assert off.status == "disabled" and "410" in str(off.status_reason)
    market.create_ticket(seller, "Opera 2", "20.00")  # more news: not sent
    clock.advance(3600)
    assert market.send_webhooks(watcher) == 0
    assert len(receiver.received) == 1
    assert [d.status for d in market.webhook_deliveries(watcher, webhook.id)] == ["failed"]


def test_only_the_kinds_asked_for_are_sent(
    market: LocalApi, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    seller, buyer = _people(market, "seller", "buyer")
    webhook = market.add_webhook(buyer, receiver.url, ["order:expired,order:voided"])
    assert webhook.events == ["order:expired", "order:voided"]
    _a_watch_hit(market, seller, buyer)  # a watch hit: not asked for
    ticket = market.create_ticket(seller, "Ballet", "20.00")
    market.create_order(buyer, ticket.id)
    clock.advance(901)
    market.get_ticket(ticket.id)  # the expiry is applied
    market.send_webhooks(buyer)
    assert [r.data["type"] for r in receiver.received] == ["order:expired"]


def test_addresses_on_the_inside_are_refused_without_the_setting(
    make_api: Callable[..., LocalApi], receiver: WebhookReceiver
) -> None:
    strict = make_api()
    [user] = _people(strict, "user")
    for inside in (
        receiver.url,
        "http://localhost/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://[64:ff9b::a9fe:a9fe]/",  # the metadata address through NAT64
        "http://[2002:a9fe:a9fe::]/",  # … through 6to4
        "http://[::7f00:1]/",  # 127.0.0.1, IPv4-compatible
    ):
        with pytest.raises(InvalidInput, match="OPENTICKET_WEBHOOK_ALLOW_PRIVATE"):
            strict.add_webhook(user, inside)
    assert strict.webhooks(user) == []


def test_a_sender_without_the_setting_does_not_post_inside(
    make_api: Callable[..., LocalApi], receiver: WebhookReceiver
) -> None:
    """Added while the operator allowed it, sent after they stopped: the address is checked
    again before every attempt."""
    allowing = make_api(settings={"webhook_allow_private": True})
    seller, watcher = _people(allowing, "seller", "watcher")
    webhook = allowing.add_webhook(watcher, receiver.url)
    _a_watch_hit(allowing, seller, watcher)
    strict = make_api()
    assert strict.send_webhooks(watcher) == 1
    assert receiver.received == []
    [delivery] = strict.webhook_deliveries(watcher, webhook.id)
    assert delivery.status == "pending" and "ALLOW_PRIVATE" in str(delivery.last_error)


def test_bad_webhooks_are_refused_and_change_nothing(
    market: LocalApi, receiver: WebhookReceiver
) -> None:
    owner, other = _people(market, "owner", "other")
    for bad in (
        "",
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "example.com",
        "http://",
        "http://1.1.1.1:0/",
    ):
        with pytest.raises(InvalidInput):
            market.add_webhook(owner, bad)
    with pytest.raises(InvalidInput, match="Unknown event"):
        market.add_webhook(owner, receiver.url, ["order:shipped"])
    webhook = market.add_webhook(owner, receiver.url)
    with pytest.raises(NotFound):
        market.remove_webhook(other, webhook.id)
    with pytest.raises(NotFound):
        market.webhook_deliveries(other, webhook.id)
    with pytest.raises(NotFound):
        market.remove_webhook(owner, "../x")
    for _ in range(WEBHOOKS_PER_USER - 1):
        market.add_webhook(owner, receiver.url)
    with pytest.raises(Conflict, match="remove one"):
        market.add_webhook(owner, receiver.url)
    with pytest.raises(Conflict, match="remove one"):  # before any address is looked up
        market.add_webhook(owner, "http://nonexistent.invalid/")
    market.remove_webhook(owner, webhook.id)
    assert len(market.webhooks(owner)) == WEBHOOKS_PER_USER - 1


def test_an_answer_to_a_claim_whose_lease_ended_is_ignored(
    market: LocalApi, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    """A sender that took longer than its lease: another claimed the delivery since, and
    only the newer claim's outcome counts."""
    seller, watcher = _people(market, "seller", "watcher")
    webhook = market.add_webhook(watcher, receiver.url)
    _a_watch_hit(market, seller, watcher)
    uow = market.runtime.uow
    [(stale, _)] = uow.transact(lambda tx: webhooks.claim_due(tx, 10))
    clock.advance(LEASE.total_seconds() + 1)
    [(fresh, _)] = uow.transact(lambda tx: webhooks.claim_due(tx, 10))
    assert (stale.id, stale.attempts, fresh.attempts) == (fresh.id, 1, 2)

    assert uow.transact(lambda tx: webhooks.record(tx, stale, Attempt(200))) is None
    uow.transact(lambda tx: webhooks.record(tx, fresh, Attempt(500, "HTTP 500")))
    [delivery] = market.webhook_deliveries(watcher, webhook.id)
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("pending", 2, 500)


def test_a_receiver_that_never_answers_is_given_up_on_at_the_deadline(
    receiver: WebhookReceiver,
) -> None:
    receiver.holding.set()
    attempt = HttpWebhookTransport(timeout=1.0).post(receiver.url, b"{}", {}, None)
    assert attempt.status is None and attempt.reached
    assert attempt.error is not None and "no answer" in attempt.error


def test_an_address_that_cannot_be_connected_to_is_not_reached() -> None:
    attempt = HttpWebhookTransport(timeout=5.0).post(
        f"http://127.0.0.1:{free_port()}/", b"{}", {}, None
    )
    assert (attempt.status, attempt.reached) == (None, False)
