"""What runs besides commands: catching up after a crash (payments a dead process left half
done, overdue expiries, undelivered events), refunds, the expiration jobs, and a worker's loop.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from openticket.app.commands import Commands
from openticket.app.ports import EventBus, EventLog
from openticket.app.webhook_sender import WebhookSender
from openticket.core import faults
from openticket.core.events import (
    ORDER_CANCELLED,
    ORDER_CREATED,
    PAYOUT_UPDATED,
    TICKET_CHECKED_IN,
    TICKET_ORDER_REFUSED,
)
from openticket.core.expiration import service as expiration
from openticket.core.expiration.model import ExpiryTimer
from openticket.core.orders import service as orders
from openticket.core.payments import charging
from openticket.core.payments import service as payments
from openticket.core.payments.payouts import service as payouts
from openticket.core.payments.payouts.settling import settle_payouts
from openticket.core.payments.provider import PaymentProvider
from openticket.core.ports import UnitOfWork

log = logging.getLogger("openticket")

EXPIRY_BATCH = 500  # expirations fired per transaction
# A payout may be due once one is made (no hold) or its ticket checked in, and its transfer
# taken back once its order is refunded (a refused order that had been paid).
_PAYOUT_SUBJECTS = frozenset({PAYOUT_UPDATED, TICKET_CHECKED_IN, TICKET_ORDER_REFUSED})
_NOTHING_DUE = frozenset({ORDER_CREATED})


@dataclass(kw_only=True)
class Runtime:
    uow: UnitOfWork
    commands: Commands
    bus: EventBus
    event_log: EventLog
    provider: PaymentProvider
    timer: ExpiryTimer
    payment_lease: timedelta
    tending: bool = field(default=False, init=False)  # a worker loop catches up, not readers
    tend_seconds: float = field(default=1.0, init=False)  # how often that loop catches up
    # Sends webhook deliveries in a worker's loop (the process hosting the notify domain).
    webhooks: WebhookSender | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.commands.after_delivery = self.after_delivery

    def catch_up(self, *, leftovers: bool = False) -> None:
        """Drive again the payments a dead process left half done, apply overdue expiries,
        deliver what is undelivered, settle due refunds. One read transaction when there is
        nothing to do. With a broker, events other commands have not published yet are theirs
        to publish, or a worker's (`leftovers`): publishing them from every request would
        only make duplicates (a command of several writes, such as a payment, hands on what
        its writes recorded, `Commands.deliver`)."""
        with self.uow.read() as tx:
            abandoned = payments.any_stale(tx, self.provider.name)
            overdue = orders.any_overdue(tx)
            undelivered = self.event_log.has_pending(tx) and (
                leftovers or self.commands.delivers_in_process
            )
            refunds = payments.any_refund_due(tx)
            payouts_due = payouts.any_due(tx)
        if abandoned:  # first: its order may still complete (if not, it is refunded)
            charging.redrive_stale(self.uow, self.provider, self.payment_lease)
            self.commands.deliver()
            self.settle_refunds()
        if overdue:
            self.uow.transact(lambda tx: orders.expire_overdue(tx))
            faults.point("expiry:committed")
        if overdue or undelivered:
            self.commands.deliver()
        if refunds:  # also while events flow: a payments worker's batches of new orders do not
            self.settle_refunds()
        if payouts_due:
            self.settle_payouts()

    def after_delivery(self, delivered: set[str]) -> None:
        if ORDER_CANCELLED in delivered:  # a charged order may have ended
            self.settle_refunds()
        if delivered & _PAYOUT_SUBJECTS:
            self.settle_payouts()

    def settle_payouts(self) -> None:
        """Pay sellers what is due (a payout whose hold passed or whose ticket was checked
        in) and take back what a refund reversed. Runs after commands that committed: a
        failure here is logged and left to the next pass (a payout being released or
        reversed says so), never the command's error."""
        try:
            changed = settle_payouts(self.uow, self.provider)
        except Exception:
            log.exception("settling payouts failed; the next pass tries again")
            return
        if changed:
            self.commands.deliver_leftovers()

    def settle_money(self, applied: set[str]) -> None:
        """What a payments worker does after each batch of events it applied (`applied`:
        their subjects). New orders alone make no refund or payout due: a reservation
        race's batches are almost all of those, and looking was a fifth of the worker's time."""
        if applied <= _NOTHING_DUE:
            return
        self.settle_refunds()
        self.settle_payouts()

    def settle_refunds(self) -> None:
        with self.uow.read() as tx:
            if not payments.any_refund_due(tx):
                return
        if charging.settle_refunds(self.uow, self.provider):
            self.commands.deliver_leftovers()

    def run_expiration_jobs(self) -> None:
        """Become a candidate to run the expiration jobs (the timer runs them while this
        process holds the store's leader lock, and calls `schedule_pending_expirations`)."""
        self.timer.start()

    def schedule_pending_expirations(self) -> None:
        """Make sure every pending expiry has a job (a process may have died between
        committing an order and storing its job)."""
        with self.uow.read() as tx:
            pending = expiration.pending(tx)
        for order_id, at in pending:
            self.timer.schedule(order_id, at)

    def fire_due_expirations(self, until: datetime) -> None:
        """What the scheduler runs each second some window ends: every expiration due."""
        while True:
            fired = self.uow.transact(lambda tx: expiration.fire_due(tx, until, EXPIRY_BATCH))
            if fired:
                faults.point("expiry:committed")
            self.commands.deliver()
            if fired < EXPIRY_BATCH:
                return

    def work(self, stop: threading.Event) -> None:
        """A worker's loop until `stop`: apply events to this process's domains as they come
        (refunds they make due are settled right after), and every second do what no command
        may come to drive: overdue expiries, events a dead process left unpublished, refunds
        a down payment provider postponed."""

        def tend() -> None:
            while not stop.wait(self.tend_seconds):
                try:
                    self.catch_up(leftovers=True)
                except Exception:
                    log.exception("catching up failed; retrying")

        self.tending = True
        tending = threading.Thread(target=tend, name="openticket-catch-up", daemon=True)
        tending.start()
        sending = None
        if self.webhooks is not None:
            sending = threading.Thread(
                target=self.webhooks.run, args=(stop,), name="openticket-webhooks", daemon=True
            )
            sending.start()
        try:
            self.bus.consume(stop, {"payments": self.settle_money})
        finally:
            tending.join()
            if sending is not None:
                sending.join()
            self.tending = False

    def close(self) -> None:
        self.timer.shutdown()
        self.bus.close()
