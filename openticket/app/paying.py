"""A pay call's choreography: drive this order's abandoned attempt first, catch up, charge,
deliver the attempt's events (a refused attempt's end is news too), settle refunds the
order's end made due; and reconciling with the provider."""

from __future__ import annotations

from functools import partial

from openticket.app import schemas
from openticket.app.runtime import Runtime
from openticket.app.views import payment_view, reconcile_report
from openticket.core.payments import charging, reconciling
from openticket.core.payments import service as payments


class Paying:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.uow = runtime.uow
        self.commands = runtime.commands
        self.provider = runtime.provider
        self.lease = runtime.payment_lease  # how long a live process may take to charge

    def pay(self, user_id: str, order_id: str, card: str) -> schemas.Payment:
        # What the buyer's next read must see applied: this request's writes, not the
        # catch-up's (that delivers its own).
        with self.uow.recording() as written:
            # This order's own abandoned attempt first: the catch-up would drive it too, but
            # this request would not know it was the answer to its "try again".
            attempt = charging.resume(self.uow, self.provider, self.lease, user_id, order_id, card)
            if attempt is None:  # or its attempt that waits for the card's authentication
                attempt = charging.waiting_for_authentication(
                    self.uow, self.provider, user_id, order_id, card
                )
        self.runtime.catch_up()
        try:
            if attempt is None:
                with self.uow.recording(written):
                    attempt = charging.pay(
                        self.uow,
                        self.provider,
                        user_id,
                        order_id,
                        card,
                        self.lease,
                        announce=partial(self.commands.deliver, written),
                    )
        finally:  # a refused attempt's end is news too: its order stops waiting for it
            self.commands.deliver(written)
        return self._answer(attempt.id)

    def check(self, user_id: str, order_id: str) -> schemas.Payment:
        """The order's latest attempt, finished if its card's authentication has been."""
        self.runtime.catch_up()
        with self.uow.recording() as written:
            attempt = charging.check(self.uow, self.provider, user_id, order_id)
        self.commands.deliver(written)
        return self._answer(attempt.id)

    def _answer(self, payment_id: str) -> schemas.Payment:
        self.runtime.settle_refunds()  # the order may have ended while the card was charged
        with self.uow.read() as tx:
            return payment_view(payments.raise_for_outcome(payments.get_payment(tx, payment_id)))

    def reconcile(self, *, fix: bool) -> schemas.ReconcileReport:
        self.runtime.catch_up()
        with self.uow.recording() as written:
            found = reconciling.reconcile(self.uow, self.provider, fix=fix)
        if fix:
            self.commands.deliver(written)
            self.runtime.settle_payouts()  # a payout found without its transfer is paid
        return reconcile_report(found)
