"""Racing payments against a real `openticket serve` whose Stripe calls go through the
project's StripeFront (held inside the first charge): another card meanwhile is 409 "in
progress" with Retry-After, and a repeat of the same Idempotency-Key waits and gets the
first answer."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import PATIENCE_SECONDS, running_server
from tests.stripe_servers import TEST_KEY, StripeFront


def test_racing_payments_over_http(tmp_path: Path, stripe_front: StripeFront) -> None:
    charging, go_on = threading.Event(), threading.Event()

    def hold_the_first_charge() -> None:
        stripe_front.during_charge = None
        charging.set()
        go_on.wait(PATIENCE_SECONDS)

    stripe_front.during_charge = hold_the_first_charge
    (tmp_path / "home").mkdir()
    env = {"OPENTICKET_STRIPE_API_KEY": TEST_KEY, "OPENTICKET_STRIPE_API_BASE": stripe_front.url}
    with (
        running_server(tmp_path / "db.sqlite", tmp_path / "home", **env) as url,
        httpx.Client(base_url=url, timeout=PATIENCE_SECONDS) as http,
        ThreadPoolExecutor(2) as pool,
    ):

        def sign_up(email: str) -> dict[str, str]:
            body = {"email": email, "password": "long enough"}
            token = http.post("/api/users/signup", json=body).json()["token"]
            return {"Authorization": f"Bearer {token}"}

        seller, buyer = sign_up("seller@example.com"), sign_up("buyer@example.com")
        ticket = http.post("/api/tickets", json={"title": "Gig", "price": "25"}, headers=seller)
        order = http.post("/api/orders", json={"ticket_id": ticket.json()["id"]}, headers=buyer)
        body = {"order_id": order.json()["id"], "token": "pm_card_visa"}
        keyed = buyer | {"Idempotency-Key": "pay-1"}

        first = pool.submit(http.post, "/api/payments", json=body, headers=keyed)
        assert charging.wait(PATIENCE_SECONDS)
        other_card = http.post(
            "/api/payments", json=body | {"token": "pm_card_mastercard"}, headers=buyer
        )
        assert other_card.status_code == 409
        assert other_card.json()["errors"][0]["message"] == (
            "A payment for this order is in progress"
        )
        assert int(other_card.headers["Retry-After"]) >= 1
        repeat = pool.submit(http.post, "/api/payments", json=body, headers=keyed)
        go_on.set()
        answers = [first.result(PATIENCE_SECONDS), repeat.result(PATIENCE_SECONDS)]
        assert [a.status_code for a in answers] == [201, 201]
        assert answers[0].json() == answers[1].json()
        assert answers[0].json()["status"] == "succeeded"
    assert len(stripe_front.charges_sent()) == 1
