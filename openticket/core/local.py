"""LocalApi: the Api run in this process. Each method authenticates, opens a unit of work,
calls one use case, delivers the events it caused, and returns public objects."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from openticket.bus.relay import OutboxRelay
from openticket.core import faults, schemas
from openticket.core.api import OrderRequest
from openticket.core.auth import service as auth
from openticket.core.auth.keys import KeyRing
from openticket.core.auth.model import User
from openticket.core.auth.passwords import PasswordHasher
from openticket.core.clock import isoformat_utc
from openticket.core.errors import Conflict, DomainError, InvalidInput
from openticket.core.events import ORDER_CANCELLED
from openticket.core.expiration import service as expiration
from openticket.core.expiration.model import ExpiryTimer
from openticket.core.once import Once
from openticket.core.orders import service as orders
from openticket.core.orders.model import Order
from openticket.core.payments import flows as payment_flows
from openticket.core.payments import service as payments
from openticket.core.payments.model import Payment, check_source
from openticket.core.payments.provider import PaymentProvider
from openticket.core.tickets import import_flow
from openticket.core.tickets import repository as tickets_repository
from openticket.core.tickets import service as tickets
from openticket.core.tickets.model import AVAILABLE, ImportRow, Ticket
from openticket.store import outbox
from openticket.store.uow import Tx, UnitOfWork

log = logging.getLogger("openticket")

EXPIRY_BATCH = 500  # expirations fired per transaction
EVENTS_LIMIT_MAX = 5000
DEMO_PASSWORD = "openticket-demo"
DEMO_USERS = ("alice@example.com", "bob@example.com", "carol@example.com")
DEMO_TICKETS = (
    ("Jazz night at the Blue Room", "35.00", "USD"),
    ("Indie rock festival, Saturday pass", "89.50", "USD"),
    ("Symphony No. 9, balcony", "42.00", "EUR"),
    ("Stand-up comedy, front row", "25.00", "GBP"),
    ("Kabuki matinee", "4500", "JPY"),
    ("City marathon spectator stand", "12.00", "USD"),
    ("Opera: La Traviata", "120.00", "EUR"),
    ("Football derby, north stand", "65.00", "GBP"),
    ("Tokyo jazz club, late set", "3000", "JPY"),
    ("Film festival closing night", "18.75", "USD"),
    ("Chamber music in the park", "0.50", "USD"),
    ("Electronic music all-nighter", "55.00", "EUR"),
)


def _user(user: User) -> schemas.User:
    return schemas.User(id=user.id, email=user.email)


def _ticket(ticket: Ticket) -> schemas.Ticket:
    return schemas.Ticket(
        id=ticket.id,
        title=ticket.title,
        price=ticket.price.format(),
        currency=ticket.price.currency,
        owner_id=ticket.owner_id,
        version=ticket.version,
        status=ticket.status,
        order_id=ticket.order_id,
    )


def _order(order: Order) -> schemas.Order:
    return schemas.Order(
        id=order.id,
        user_id=order.user_id,
        ticket_id=order.ticket_id,
        status=order.status,
        expires_at=isoformat_utc(order.expires_at),
        ticket=schemas.OrderTicket(
            id=order.ticket_id,
            title=order.ticket_title,
            price=order.price.format(),
            currency=order.price.currency,
        ),
    )


def _payment(payment: Payment) -> schemas.Payment:
    return schemas.Payment(
        id=payment.id,
        order_id=payment.order_id,
        amount=payment.amount.format(),
        currency=payment.amount.currency,
        status=payment.status,
        provider=payment.provider,
        provider_ref=payment.provider_ref,
    )


class LocalApi:
    def __init__(
        self,
        *,
        uow: UnitOfWork,
        relay: OutboxRelay,
        keys: KeyRing,
        hasher: PasswordHasher,
        provider: PaymentProvider,
        timer: ExpiryTimer,
        order_ttl: int,
        default_currency: str,
        payment_lease: timedelta,
    ) -> None:
        self._uow = uow
        self._relay = relay
        self._keys = keys
        self._hasher = hasher
        self._provider = provider
        self._timer = timer
        self._order_ttl = order_ttl
        self._currency = default_currency
        self._payment_lease = payment_lease  # how long a live process may take to charge

    # -- housekeeping -------------------------------------------------------------------
    def start(self) -> None:
        """Deliver what a crashed process left behind, and apply overdue expiries."""
        self._catch_up()

    def _catch_up(self, *, leftovers: bool = False) -> None:
        """Before answering: drive again the payments a dead process left half done, apply
        overdue expiries, deliver what is undelivered, settle due refunds. One read
        transaction when there is nothing to do. With a broker, events
        other commands have not published yet are theirs to publish, or a worker's
        (`leftovers`): publishing them from every request would only make duplicates."""
        with self._uow.read() as tx:
            abandoned = payments.any_stale(tx, self._provider.name)
            overdue = orders.any_overdue(tx)
            undelivered = outbox.has_pending(tx.conn) and (
                leftovers or self._relay.delivers_in_process
            )
            refunds = payments.any_refund_due(tx)
        if abandoned:  # first: its order may still complete (if not, it is refunded)
            payment_flows.redrive_stale(self._uow, self._provider, self._payment_lease)
            self._deliver()
            self._settle_refunds()
        if overdue:
            with self._uow.write() as tx:
                orders.expire_overdue(tx)
            faults.point("expiry:committed")
        if overdue or undelivered:
            self._deliver()
        elif refunds:
            self._settle_refunds()

    @contextmanager
    def _command(self, name: str) -> Iterator[Tx]:
        """A write and the delivery of its events in one turn of the store's write lock: a
        server's request threads queue for it once per command, not twice. Refunds an ended
        order may owe are settled after the lock is let go: they call the payment provider."""
        with self._uow.exclusive():
            with self._uow.write() as tx:
                yield tx
            faults.point(f"{name}:committed")  # a crash here leaves the events to deliver
            if self._relay.delivers_in_process:
                delivered = self._relay.after_commit(emitted=True)
        if not self._relay.delivers_in_process:  # a broker: publish without the lock
            delivered = self._relay.after_commit(emitted=True)
        if ORDER_CANCELLED in delivered:
            self._settle_refunds()

    def _deliver(self) -> None:
        """Deliver the events of the write that just committed (and anything older)."""
        delivered = self._relay.after_commit(emitted=True)
        if ORDER_CANCELLED in delivered:  # a charged order may have ended
            self._settle_refunds()

    def _settle_refunds(self) -> None:
        with self._uow.read() as tx:
            if not payments.any_refund_due(tx):
                return
        if payment_flows.settle_refunds(self._uow, self._provider):
            self._relay.after_commit(emitted=True)

    def _authenticate(self, token: str | None) -> User:
        with self._uow.read() as tx:
            return auth.authenticate(tx, self._keys, token)

    def run_expiration_jobs(self) -> None:
        """Become a candidate to run the expiration jobs (the timer runs them while this
        process holds the store's leader lock, and calls `schedule_pending_expirations`)."""
        self._timer.start()

    def schedule_pending_expirations(self) -> None:
        """Make sure every pending expiry has a job (a process may have died between
        committing an order and storing its job)."""
        with self._uow.read() as tx:
            pending = expiration.pending(tx)
        for order_id, at in pending:
            self._timer.schedule(order_id, at)

    def fire_due_expirations(self, until: datetime) -> None:
        """What the scheduler runs each second some window ends: every expiration due."""
        while True:
            with self._uow.write() as tx:
                fired = expiration.fire_due(tx, until, EXPIRY_BATCH)
            if fired:
                faults.point("expiry:committed")
            self._deliver()
            if fired < EXPIRY_BATCH:
                return

    def work(self, stop: threading.Event) -> None:
        """A worker's loop until `stop`: apply events to this process's domains as they come
        (refunds they make due are settled right after), and every second do what no command
        may come to drive: overdue expiries, events a dead process left unpublished, refunds
        a down payment provider postponed."""

        def tend() -> None:
            while not stop.wait(1.0):
                try:
                    self._catch_up(leftovers=True)
                except Exception:
                    log.exception("catching up failed; retrying")

        tending = threading.Thread(target=tend, name="openticket-catch-up", daemon=True)
        tending.start()
        self._relay.consume(stop, {"payments": self._settle_refunds})
        tending.join()

    def close(self) -> None:
        self._timer.shutdown()
        self._relay.close()
        self._uow.engine.dispose()

    # -- auth ---------------------------------------------------------------------------
    def signup(self, email: str, password: str) -> schemas.AuthSession:
        normalized = auth.check_signup(email, password)
        # Hashed whether or not the email is taken: the answer to a taken one (Conflict,
        # below) takes as long as a successful sign-up, so timing tells nothing.
        password_hash = self._hasher.hash(password)
        with self._uow.write() as tx:
            user, token = auth.signup(tx, self._keys, normalized, password_hash)
        return schemas.AuthSession(user=_user(user), token=token)

    def signin(self, email: str, password: str) -> schemas.AuthSession:
        with self._uow.read() as tx:
            found = auth.find_credentials(tx, email, password)
        user = auth.check_password(self._hasher, found, password)
        with self._uow.write() as tx:
            token = auth.issue_token(tx, self._keys, user)
        return schemas.AuthSession(user=_user(user), token=token)

    def signout(self, token: str | None, *, everywhere: bool = False) -> None:
        with self._uow.write() as tx:
            auth.signout(tx, self._keys, token or "", everywhere=everywhere)

    def rotate_signing_key(self, *, revoke_all: bool = False) -> schemas.KeyRotation:
        with self._uow.write() as tx:
            key = auth.rotate_keys(tx, self._keys, revoke_all=revoke_all)
        return schemas.KeyRotation(kid=key.kid, revoked_all=revoke_all)

    def whoami(self, token: str | None) -> schemas.User:
        return _user(self._authenticate(token))

    # -- tickets ------------------------------------------------------------------------
    def list_tickets(
        self,
        token: str | None = None,
        *,
        mine: bool = False,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
        sort: str = "listed",
    ) -> list[schemas.Ticket]:
        owner_id = self._authenticate(token).id if mine else None
        self._catch_up()
        with self._uow.read() as tx:
            found = tickets.list_tickets(
                tx, owner_id=owner_id, search=search, limit=limit, offset=offset, sort=sort
            )
        return [_ticket(ticket) for ticket in found]

    def get_ticket(self, ticket_id: str) -> schemas.Ticket:
        self._catch_up()
        with self._uow.read() as tx:
            return _ticket(tickets.get_ticket(tx, ticket_id))

    def create_ticket(
        self,
        token: str | None,
        title: str,
        price: str,
        currency: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> schemas.Ticket:
        user = self._authenticate(token)
        once = Once(idempotency_key, user.id, "create_ticket", title, price, currency)
        with self._command("create-ticket") as tx:
            if (replayed := once.replay(tx)) is not None:
                return schemas.Ticket.model_validate(replayed)
            ticket = _ticket(
                tickets.create_ticket(tx, user.id, title, price, currency or self._currency)
            )
            once.remember(tx, ticket)
        return ticket

    def update_ticket(
        self,
        token: str | None,
        ticket_id: str,
        *,
        title: str | None = None,
        price: str | None = None,
        currency: str | None = None,
    ) -> schemas.Ticket:
        user = self._authenticate(token)
        self._catch_up()
        with self._command("update-ticket") as tx:
            ticket = tickets.update_ticket(tx, user.id, ticket_id, title, price, currency)
        return _ticket(ticket)

    def import_tickets(
        self,
        token: str | None,
        rows: Iterator[ImportRow],
        *,
        dry_run: bool = False,
        skip_invalid: bool = False,
        on_progress: Callable[[str, int], None] | None = None,
    ) -> schemas.ImportReport:
        user = self._authenticate(token)
        progress = on_progress or (lambda _phase, _rows: None)
        self._catch_up()
        with import_flow.checked_spool() as spool:
            planned = import_flow.validate(
                self._uow, user.id, rows, self._currency, progress, spool
            )
            bad_lines = {problem.line for problem in planned.problems}
            if dry_run or (bad_lines and not skip_invalid):
                if not dry_run:  # all or nothing: every row was skipped
                    planned.unchanged += planned.created + planned.updated
                    planned.created = planned.updated = 0
                return import_flow.report(planned, len(bad_lines))
            written = import_flow.write(self._uow, user.id, spool, progress)
        faults.point("import:committed")
        self._deliver()
        written.problems = planned.problems + written.problems
        return import_flow.report(written, len(bad_lines))

    def export_tickets(
        self, token: str | None, *, mine: bool = False
    ) -> Iterator[schemas.ExportRow]:
        user = self._authenticate(token)  # a whole marketplace's listings are not for strangers
        owner_id = user.id if mine else None
        self._catch_up()
        after = ""
        while True:
            with self._uow.read() as tx:
                page = tickets_repository.page_after(
                    tx,
                    owner_id=owner_id,
                    status=None if mine else AVAILABLE,
                    after_id=after,
                    limit=1000,
                )
            if not page:
                return
            for ticket in page:
                yield schemas.ExportRow(
                    title=ticket.title,
                    price=ticket.price.format(),
                    currency=ticket.price.currency,
                    external_id=ticket.external_id or ticket.id,
                )
            after = page[-1].id

    # -- orders -------------------------------------------------------------------------
    def list_orders(self, token: str | None) -> list[schemas.Order]:
        user = self._authenticate(token)
        self._catch_up()
        with self._uow.read() as tx:
            return [_order(order) for order in orders.list_orders(tx, user.id)]

    def create_order(
        self, token: str | None, ticket_id: str, *, idempotency_key: str | None = None
    ) -> schemas.Order:
        (outcome,) = self.create_orders([OrderRequest(token, ticket_id, idempotency_key)])
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def create_orders(self, requests: list[OrderRequest]) -> list[schemas.Order | DomainError]:
        """Many reservations in one transaction and one delivery of their events (a server
        batches its concurrent requests so): each gets its order or the error that refused
        it, and a refused one changes nothing (its own savepoint)."""
        outcomes: list[schemas.Order | DomainError] = []
        # In process, delivering what is pending (the ticket replicas must be current) and the
        # reservations take one turn of the write lock; a broker's wait for its consumers
        # happens after _command has let the lock go.
        in_process = self._relay.delivers_in_process
        with self._uow.exclusive() if in_process else contextlib.nullcontext():
            if in_process:
                self._relay.after_commit()
            with self._command("reserve") as tx:
                for request in requests:
                    try:
                        with tx.savepoint():
                            outcomes.append(self._reserve(tx, request))
                    except DomainError as error:
                        outcomes.append(error)
        return outcomes

    def _reserve(self, tx: Tx, request: OrderRequest) -> schemas.Order:
        user = auth.authenticate(tx, self._keys, request.token)
        once = Once(request.idempotency_key, user.id, "create_order", request.ticket_id)
        if (replayed := once.replay(tx)) is not None:
            return schemas.Order.model_validate(replayed)
        order = _order(orders.reserve(tx, user.id, request.ticket_id, self._order_ttl))
        once.remember(tx, order)
        return order

    def get_order(self, token: str | None, order_id: str) -> schemas.Order:
        user = self._authenticate(token)
        self._catch_up()
        with self._uow.read() as tx:
            return _order(orders.get_order(tx, user.id, order_id))

    def cancel_order(self, token: str | None, order_id: str) -> schemas.Order:
        user = self._authenticate(token)
        self._catch_up()
        with self._command("cancel") as tx:
            order = orders.cancel_order(tx, user.id, order_id)
        return _order(order)

    # -- payments -----------------------------------------------------------------------
    def pay(
        self,
        token: str | None,
        order_id: str,
        card: str,
        *,
        idempotency_key: str | None = None,
    ) -> schemas.Payment:
        check_source(card)
        user = self._authenticate(token)
        once = Once(idempotency_key, user.id, "pay", order_id, card)
        # The key is held a while longer than an attempt's lease: the call may first drive
        # an earlier attempt again, then catch up, then charge.
        claim = self._payment_lease * 3 + timedelta(seconds=30)
        if (replayed := once.claim(self._uow, claim)) is not None:
            return schemas.Payment.model_validate(replayed)
        try:
            payment = self._pay(user.id, order_id, card)
        except BaseException as error:
            once.refused(self._uow, error)
            raise
        once.answered(self._uow, payment)
        return payment

    def _pay(self, user_id: str, order_id: str, card: str) -> schemas.Payment:
        # This order's own abandoned attempt first: the catch-up would drive it too, but this
        # request would not know it was the answer to its "try again".
        attempt = payment_flows.resume(
            self._uow, self._provider, self._payment_lease, user_id, order_id, card
        )
        self._catch_up()
        try:
            if attempt is None:
                attempt = payment_flows.pay(
                    self._uow,
                    self._provider,
                    user_id,
                    order_id,
                    card,
                    self._payment_lease,
                    announce=self._deliver,
                )
        finally:  # a refused attempt's end is news too: its order stops waiting for it
            self._deliver()
        self._settle_refunds()  # the order may have ended while the card was charged
        with self._uow.read() as tx:
            return _payment(payments.raise_for_outcome(payments.get_payment(tx, attempt.id)))

    def reconcile_payments(self, *, fix: bool = False) -> schemas.ReconcileReport:
        self._catch_up()
        report = payment_flows.reconcile(self._uow, self._provider, fix=fix)
        if fix:
            self._deliver()
        return report

    # -- events -------------------------------------------------------------------------
    def events(
        self, after: int = 0, limit: int = 100, *, token: str | None = None
    ) -> list[schemas.Event]:
        if not 0 <= after <= outbox.MAX_SEQ:
            raise InvalidInput(f"after must be an event number from 0 to {outbox.MAX_SEQ}", "after")
        if not 1 <= limit <= EVENTS_LIMIT_MAX:
            raise InvalidInput(f"limit must be from 1 to {EVENTS_LIMIT_MAX}", "limit")
        self._catch_up()
        with self._uow.read() as tx:
            log_rows = outbox.read_log(tx.conn, after, limit)
        return [
            schemas.Event(
                seq=row.sequence,
                id=row.id,
                subject=row.subject,
                occurred_at=isoformat_utc(row.occurred_at),
                data=row.data,
            )
            for row in log_rows
        ]

    def last_event_seq(self) -> int:
        with self._uow.read() as tx:
            return outbox.last_seq(tx.conn)

    # -- demo ---------------------------------------------------------------------------
    def demo(self) -> schemas.DemoReport:
        with self._uow.read() as tx:
            if tickets_repository.count(tx) > 0:
                raise Conflict("The store already has tickets: demo only fills an empty store")
        sessions = [self.signup(email, DEMO_PASSWORD) for email in DEMO_USERS]
        for index, (title, price, currency) in enumerate(DEMO_TICKETS):
            seller = sessions[index % len(sessions)]
            self.create_ticket(seller.token, title, price, currency)
        return schemas.DemoReport(
            users=[session.user for session in sessions],
            password=DEMO_PASSWORD,
            tickets=len(DEMO_TICKETS),
        )
