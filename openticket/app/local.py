"""LocalApi: the Api run in this process, a thin map from each call to a use case. How a
command's transaction and events are run is `commands.py`'s; what runs besides commands
(catch-up, refunds, expiry, a worker's loop) is `runtime.py`'s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from openticket.app import demo, schemas
from openticket.app.api import OrderRequest
from openticket.app.notify import NotifyCalls
from openticket.app.once import Once
from openticket.app.paying import Paying
from openticket.app.payouts import PayoutCalls
from openticket.app.ports import IdempotencyRecords, Terms
from openticket.app.reserving import BatchReads, reserve_batch
from openticket.app.runtime import Runtime
from openticket.app.views import (
    event_view,
    export_row,
    import_report,
    order_view,
    ticket_view,
    user_view,
)
from openticket.app.waitlist import WaitlistCalls
from openticket.app.wallet import WalletCalls
from openticket.app.webhooks import WebhookCalls
from openticket.core.auth import service as auth
from openticket.core.auth.model import User, clean_display_name
from openticket.core.auth.passwords import PasswordHasher
from openticket.core.errors import Conflict, DomainError, InvalidInput
from openticket.core.orders import service as orders
from openticket.core.payments.model import check_source
from openticket.core.ports import Transaction
from openticket.core.signing_keys import KeyRing
from openticket.core.tickets import import_passes
from openticket.core.tickets import service as tickets
from openticket.core.tickets.model import ImportRow
from openticket.core.tickets.query import TicketQuery

EVENTS_LIMIT_MAX = 5000


class LocalApi(WalletCalls, PayoutCalls, NotifyCalls, WaitlistCalls, WebhookCalls):
    def __init__(
        self,
        runtime: Runtime,
        *,
        idempotency: IdempotencyRecords,
        keys: KeyRing,
        code_keys: KeyRing,
        hasher: PasswordHasher,
        terms: Terms,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self.runtime = runtime
        self._uow = runtime.uow
        self._commands = runtime.commands
        self._log = runtime.event_log
        self._idempotency = idempotency
        self._keys = keys
        self._code_keys = code_keys
        self._hasher = hasher
        self._terms = terms
        self._paying = Paying(runtime)
        self._on_close = on_close

    def start(self) -> None:
        """Deliver what a crashed process left behind, and apply overdue expiries."""
        self.runtime.catch_up()

    def close(self) -> None:
        self.runtime.close()
        self._on_close()

    def _catch_up(self) -> None:
        self.runtime.catch_up()

    def _current(self) -> None:
        """Before a read: nothing, where a worker loop tends the store (a server, a worker):
        a read never writes there. Used as a library with no worker (tests, the embedded
        TUI), nothing else would apply overdue expiries or finish what a dead process left."""
        if not self.runtime.tending:
            self.runtime.catch_up()

    def _once(self, key: str | None, user_id: str, *request: object) -> Once:
        return Once(key, user_id, *request, records=self._idempotency)

    def _authenticate(self, token: str | None) -> User:
        with self._uow.read() as tx:
            return auth.authenticate(tx, self._keys, token)

    # -- auth ---------------------------------------------------------------------------
    def signup(
        self, email: str, password: str, display_name: str | None = None
    ) -> schemas.AuthSession:
        normalized = auth.check_signup(email, password)
        name = None if display_name is None else clean_display_name(display_name)
        # Hashed whether or not the email is taken: the answer to a taken one (Conflict,
        # below) takes as long as a successful sign-up, so timing tells nothing.
        password_hash = self._hasher.hash(password)
        user, token = self._uow.transact(
            lambda tx: auth.signup(tx, self._keys, normalized, password_hash, name)
        )
        return schemas.AuthSession(user=user_view(user), token=token)

    def signin(self, email: str, password: str) -> schemas.AuthSession:
        with self._uow.read() as tx:
            found = auth.find_credentials(tx, email, password)
        user = auth.check_password(self._hasher, found, password)
        token = self._uow.transact(lambda tx: auth.issue_token(tx, self._keys, user))
        return schemas.AuthSession(user=user_view(user), token=token)

    def signout(self, token: str | None, *, everywhere: bool = False) -> None:
        self._uow.transact(
            lambda tx: auth.signout(tx, self._keys, token or "", everywhere=everywhere)
        )

    def rotate_signing_key(self, *, revoke_all: bool = False) -> schemas.KeyRotation:
        key = self._uow.transact(lambda tx: auth.rotate_keys(tx, self._keys, revoke_all=revoke_all))
        return schemas.KeyRotation(kid=key.kid, revoked_all=revoke_all)

    def whoami(self, token: str | None) -> schemas.User:
        return user_view(self._authenticate(token))

    def update_profile(self, token: str | None, *, display_name: str) -> schemas.User:
        user = self._authenticate(token)
        return user_view(self._uow.transact(lambda tx: auth.rename(tx, user, display_name)))

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
        query = TicketQuery(owner_id=owner_id, search=search, limit=limit, offset=offset, sort=sort)
        self._current()
        with self._uow.read() as tx:
            found = tickets.list_tickets(tx, query)
            sellers = auth.shown_names(tx, [ticket.owner_id for ticket in found])
        return [ticket_view(ticket, sellers[ticket.owner_id]) for ticket in found]

    def count_tickets(
        self, token: str | None = None, *, mine: bool = False, search: str | None = None
    ) -> int:
        owner_id = self._authenticate(token).id if mine else None
        query = TicketQuery(owner_id=owner_id, search=search)
        self._current()
        with self._uow.read() as tx:
            return tickets.count_tickets(tx, query)

    def get_ticket(self, ticket_id: str) -> schemas.Ticket:
        self._current()
        with self._uow.read() as tx:
            ticket = tickets.get_ticket(tx, ticket_id)
            return ticket_view(ticket, auth.shown_names(tx, [ticket.owner_id])[ticket.owner_id])

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
        once = self._once(idempotency_key, user.id, "create_ticket", title, price, currency)

        def create(tx: Transaction) -> schemas.Ticket:
            if (replayed := once.replay(tx)) is not None:
                return schemas.Ticket.model_validate(replayed)
            listed = tickets.create_ticket(
                tx, user.id, title, price, currency or self._terms.currency
            )
            ticket = ticket_view(listed, user.shown_name)
            once.remember(tx, ticket)
            return ticket

        return self._commands.run("create-ticket", create)

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
        ticket = self._commands.run(
            "update-ticket",
            lambda tx: tickets.update_ticket(tx, user.id, ticket_id, title, price, currency),
        )
        return ticket_view(ticket, user.shown_name)

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
        with self._uow.recording() as written:
            tally, bad_rows, wrote = import_passes.run(
                self._uow, user.id, rows, self._terms.currency, progress, dry_run, skip_invalid
            )
        if wrote:
            self._commands.deliver(written)
        return import_report(tally, bad_rows)

    def export_tickets(
        self, token: str | None, *, mine: bool = False
    ) -> Iterator[schemas.ExportRow]:
        user = self._authenticate(token)  # a whole marketplace's listings are not for strangers
        owner_id = user.id if mine else None
        self._current()
        after = ""
        while True:
            with self._uow.read() as tx:
                page = tickets.export_page(tx, owner_id=owner_id, after_id=after, limit=1000)
            if not page:
                return
            yield from (export_row(ticket) for ticket in page)
            after = page[-1].id

    # -- orders -------------------------------------------------------------------------
    def list_orders(self, token: str | None) -> list[schemas.Order]:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            return [order_view(order) for order in orders.list_orders(tx, user.id)]

    def create_order(
        self, token: str | None, ticket_id: str, *, idempotency_key: str | None = None
    ) -> schemas.Order:
        (outcome,) = self.create_orders([OrderRequest(token, ticket_id, idempotency_key)])
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def create_orders(
        self, requests: list[OrderRequest], *, settled: Callable[[], None] | None = None
    ) -> list[schemas.Order | DomainError]:
        """Many reservations in one transaction and one delivery of their events (a server
        batches its concurrent requests so): each gets its order or the error that refused
        it, and a refused one changes nothing (app/reserving.py)."""
        return reserve_batch(self._commands, self._keys, requests, self._reserve, settled)

    def _reserve(self, tx: Transaction, request: OrderRequest, reads: BatchReads) -> schemas.Order:
        user = reads.user(request.token)
        once = self._once(request.idempotency_key, user.id, "create_order", request.ticket_id)
        if (replayed := once.replay(tx)) is not None:
            return schemas.Order.model_validate(replayed)
        ttl = self._terms.order_ttl
        order = order_view(orders.reserve(tx, user.id, request.ticket_id, ttl, reads.listings))
        once.remember(tx, order)
        return order

    def get_order(self, token: str | None, order_id: str) -> schemas.Order:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            return order_view(orders.show_order(tx, user.id, order_id))

    def cancel_order(self, token: str | None, order_id: str) -> schemas.Order:
        user = self._authenticate(token)
        self._catch_up()
        order = self._commands.run("cancel", lambda tx: orders.cancel_order(tx, user.id, order_id))
        return order_view(order)

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
        once = self._once(idempotency_key, user.id, "pay", order_id, card)
        # The key is held a while longer than an attempt's lease: the call may first drive
        # an earlier attempt again, then catch up, then charge.
        claim = self._paying.lease * 3 + timedelta(seconds=30)
        if (replayed := once.claim(self._uow, claim)) is not None:
            return schemas.Payment.model_validate(replayed)
        try:
            payment = self._paying.pay(user.id, order_id, card)
        except BaseException as error:
            once.refused(self._uow, error)
            raise
        once.answered(self._uow, payment)
        return payment

    def check_payment(self, token: str | None, order_id: str) -> schemas.Payment:
        user = self._authenticate(token)
        return self._paying.check(user.id, order_id)

    def reconcile_payments(self, *, fix: bool = False) -> schemas.ReconcileReport:
        return self._paying.reconcile(fix=fix)

    # -- events -------------------------------------------------------------------------
    def events(
        self, after: int = 0, limit: int = 100, *, token: str | None = None
    ) -> list[schemas.Event]:
        if not 0 <= after <= self._log.max_seq:
            raise InvalidInput(
                f"after must be an event number from 0 to {self._log.max_seq}", "after"
            )
        if not 1 <= limit <= EVENTS_LIMIT_MAX:
            raise InvalidInput(f"limit must be from 1 to {EVENTS_LIMIT_MAX}", "limit")
        self._current()
        with self._uow.read() as tx:
            found = self._log.read(tx, after, limit)
        return [event_view(envelope) for envelope in found]

    def last_event_seq(self) -> int:
        with self._uow.read() as tx:
            return self._log.last_seq(tx)

    # -- demo ---------------------------------------------------------------------------
    def demo(self) -> schemas.DemoReport:
        with self._uow.read() as tx:
            if tickets.count(tx) > 0:
                raise Conflict("The store already has tickets: demo only fills an empty store")
        return demo.fill(self)
