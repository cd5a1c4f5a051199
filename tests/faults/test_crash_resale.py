"""A resale's payment with the server SIGKILLed between the payment and the code reissue
(after the payment is recorded, or in the middle of delivering its events), on SQLite and on
PostgreSQL: after a restart, the buyer holds the ticket with the one valid code, and the
seller's code is revoked."""

from __future__ import annotations

import pytest

from openticket.app.local import LocalApi
from openticket.bootstrap import Overrides, bootstrap
from openticket.config import Settings
from openticket.core.auth.passwords import Argon2Hasher
from tests.faults.test_crash_points import PASSWORD, Scene, killed_at, recovered, scene

__all__ = ["scene"]  # the fixture, on SQLite and PostgreSQL


def _api(scene: Scene, home: str) -> LocalApi:
    settings = Settings(home=scene.tmp / home, db_url=scene.db_url)
    return bootstrap(settings, Overrides(hasher=Argon2Hasher.cheap()))


@pytest.mark.parametrize("point", ["pay:recorded", "delivery:mid-pass"])
def test_a_resale_paid_through_a_crash_leaves_one_valid_code(scene: Scene, point: str) -> None:
    scene.setup()  # a seller's listing, a buyer
    api = _api(scene, "setup")
    try:
        buyer, ticket = scene.tokens["buyer"], scene.ids["ticket"]
        api.pay(buyer, api.create_order(buyer, ticket).id, "tok_visa")
        seller_code = api.wallet_entry(buyer, ticket).code
        api.resell(buyer, ticket, "27.50")
        second = api.signup("second@example.com", PASSWORD).token
        scene.tokens["second"] = second
        scene.ids["order"] = api.create_order(second, ticket).id
    finally:
        api.close()

    body = {"order_id": scene.ids["order"], "token": "tok_visa"}
    killed_at(scene, point, lambda: scene.call("second", "POST", "/api/payments", json=body))
    recovered(scene)

    api = _api(scene, "check")
    try:
        assert api.wallet(buyer) == []
        [entry] = api.wallet(second)
        assert (entry.ticket.id, entry.paid) == (ticket, "27.50")
        assert api.verify_code(seller_code).status == "revoked"
        assert api.verify_code(entry.code).status == "valid"
    finally:
        api.close()
    assert scene.query("SELECT count(*) FROM ticket_transfers") == [(2,)]  # each sale once
