"""The Api's calls about tickets people hold (LocalApi takes them in): the wallet, resale,
gifts, codes, verification and check-in. A thin map from each call to a holding use case."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from openticket.app import schemas
from openticket.app.views import ticket_view, user_view
from openticket.core import events
from openticket.core.auth import service as auth
from openticket.core.clock import isoformat_utc
from openticket.core.errors import InvalidInput, NotFound
from openticket.core.tickets.holding import service as holding
from openticket.core.tickets.holding.model import Holding, Transfer
from openticket.core.tickets.model import Ticket

if TYPE_CHECKING:
    from datetime import datetime

    from openticket.app.commands import Commands
    from openticket.app.once import Once
    from openticket.app.ports import EventLog, Terms
    from openticket.core.auth.model import User
    from openticket.core.ports import Transaction, UnitOfWork
    from openticket.core.signing_keys import KeyRing

CHANGES_PAGE_MAX = 5000
_CODE_SUBJECTS = (events.TICKET_TRANSFERRED, events.TICKET_CHECKED_IN)


class WalletCalls:
    _uow: UnitOfWork
    _commands: Commands
    _log: EventLog
    _terms: Terms
    _code_keys: KeyRing

    if TYPE_CHECKING:  # LocalApi's own (the class this one is mixed into)

        def _authenticate(self, token: str | None) -> User: ...
        def _current(self) -> None: ...
        def _catch_up(self) -> None: ...
        def _once(self, key: str | None, user_id: str, *request: object) -> Once: ...

    def wallet(self, token: str | None) -> list[schemas.WalletEntry]:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            held = holding.wallet(tx, user.id)
            return [self._entry(tx, h, t) for h, t in held]

    def wallet_entry(self, token: str | None, ticket_id: str) -> schemas.WalletEntry:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            return self._entry(tx, *holding.held(tx, user.id, ticket_id))

    def _entry(self, tx: Transaction, held: Holding, ticket: Ticket) -> schemas.WalletEntry:
        seller = auth.shown_names(tx, [ticket.owner_id])[ticket.owner_id]
        checked_in = held.checked_in_at
        return schemas.WalletEntry(
            ticket=ticket_view(ticket, seller),
            code=holding.code_of(tx, self._code_keys, held),
            paid=held.paid.format(),
            currency=held.paid.currency,
            acquired_at=isoformat_utc(held.acquired_at),
            checked_in_at=None if checked_in is None else isoformat_utc(checked_in),
            resale_cap=held.cap(self._terms.resale_cap_percent).format(),
        )

    def resell(self, token: str | None, ticket_id: str, price: str) -> schemas.Ticket:
        user = self._authenticate(token)
        cap = self._terms.resale_cap_percent
        self._catch_up()
        listed = self._commands.run(
            "resell", lambda tx: holding.resell(tx, user.id, ticket_id, price, cap)
        )
        return ticket_view(listed, user.shown_name)

    def cancel_resale(self, token: str | None, ticket_id: str) -> schemas.Ticket:
        user = self._authenticate(token)
        self._catch_up()
        withdrawn = self._commands.run(
            "cancel-resale", lambda tx: holding.withdraw(tx, user.id, ticket_id)
        )
        return ticket_view(withdrawn, user.shown_name)

    def transfer(self, token: str | None, ticket_id: str, to_email: str) -> schemas.Ticket:
        user = self._authenticate(token)
        self._catch_up()

        def give(tx: Transaction) -> schemas.Ticket:
            holding.held(tx, user.id, ticket_id)  # first: whether an email has an account
            recipient = auth.user_by_email(tx, to_email, "to")  # is not for anyone to probe
            ticket = holding.give(tx, user.id, ticket_id, recipient.id)
            return ticket_view(ticket, auth.shown_names(tx, [ticket.owner_id])[ticket.owner_id])

        return self._commands.run("transfer", give)

    def transfers(self, token: str | None) -> list[schemas.Transfer]:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            found = holding.chain(tx, user.id)
            titles = holding.titles(tx, [transfer.ticket_id for transfer in found])
            names = auth.shown_names(tx, [t.from_id for t in found] + [t.to_id for t in found])
        return [_transfer_view(t, user.id, titles, names) for t in found]

    def verify_code(self, code: str) -> schemas.Verification:
        if not code or not code.strip():
            raise InvalidInput("A ticket code is required", "code")
        self._current()
        with self._uow.read() as tx:
            found = holding.verify(tx, self._code_keys, code)
        at = found.checked_in_at
        return schemas.Verification(
            status=found.status,
            ticket_id=found.ticket_id,
            title=found.title,
            checked_in_at=None if at is None else isoformat_utc(at),
        )

    def check_in(
        self, token: str | None, code: str, *, idempotency_key: str | None = None
    ) -> schemas.CheckIn:
        user = self._authenticate(token)
        _check_code_text(code)
        once = self._once(idempotency_key, user.id, "check_in", code.strip())
        self._catch_up()

        def scan(tx: Transaction) -> schemas.CheckIn:
            if (replayed := once.replay(tx)) is not None:
                return schemas.CheckIn.model_validate(replayed)
            used = holding.check_in(tx, self._code_keys, user.id, code)
            assert used.checked_in_at is not None
            answer = schemas.CheckIn(
                ticket_id=used.id, checked_in_at=isoformat_utc(used.checked_in_at)
            )
            once.remember(tx, answer)
            return answer

        return self._commands.run("check-in", scan)

    def add_checkin_staff(self, token: str | None, email: str) -> schemas.StaffMember:
        user = self._authenticate(token)

        def add(tx: Transaction) -> schemas.StaffMember:
            staff = auth.user_by_email(tx, email)
            added_at = holding.add_staff(tx, user.id, staff.id)
            return _staff_member(user.id, staff, added_at)

        return self._commands.run("add-staff", add)

    def remove_checkin_staff(self, token: str | None, email: str) -> schemas.User:
        user = self._authenticate(token)

        def remove(tx: Transaction) -> schemas.User:
            try:
                staff = auth.user_by_email(tx, email)
            except NotFound:  # one answer for both: whether an email has an account is not
                raise holding.not_staff() from None  # for any user to probe here
            holding.remove_staff(tx, user.id, staff.id)
            return user_view(staff)

        return self._commands.run("remove-staff", remove)

    def checkin_staff(self, token: str | None) -> list[schemas.StaffMember]:
        user = self._authenticate(token)
        with self._uow.read() as tx:
            staff = holding.staff_of(tx, user.id)
            people = auth.users_by_ids(tx, [staff_id for staff_id, _ in staff])
        return [_staff_member(user.id, people[staff_id], at) for staff_id, at in staff]

    def rotate_code_key(self, *, revoke_all: bool = False) -> schemas.KeyRotation:
        key = self._uow.transact(lambda tx: self._code_keys.rotate(tx, revoke_all=revoke_all))
        return schemas.KeyRotation(kid=key.kid, revoked_all=revoke_all)

    def code_keys(self) -> schemas.CodeKeys:
        with self._uow.read() as tx:
            ring = self._code_keys.verifying_keys(tx)
            public = holding.public_keys(tx, self._code_keys)
        return schemas.CodeKeys(
            keys=[
                schemas.CodeKey(
                    kid=key.kid,
                    public_key=base64.urlsafe_b64encode(public[key.kid]).decode().rstrip("="),
                    created_at=None if key.created_at is None else isoformat_utc(key.created_at),
                )
                for key in ring
            ]
        )

    def code_changes(self, after: int = 0, limit: int = 1000) -> schemas.CodeChanges:
        """The revocation list: codes revoked (their ticket passed on) or used, in the event
        log's order, after position `after`."""
        if not 0 <= after <= self._log.max_seq:
            raise InvalidInput(f"after must be from 0 to {self._log.max_seq}", "after")
        if not 1 <= limit <= CHANGES_PAGE_MAX:
            raise InvalidInput(f"limit must be from 1 to {CHANGES_PAGE_MAX}", "limit")
        self._current()
        changes: list[schemas.CodeChange] = []
        last, more = after, True
        with self._uow.read() as tx:
            as_of = tx.now
            while more and len(changes) < limit:
                page = self._log.read(tx, last, CHANGES_PAGE_MAX)
                more = len(page) == CHANGES_PAGE_MAX
                for envelope in page:
                    last = envelope.sequence
                    if envelope.subject in _CODE_SUBJECTS:
                        changes.extend(_code_change(envelope))
                        if len(changes) >= limit:
                            more = True
                            break
        return schemas.CodeChanges(
            changes=changes, last=last, more=more, as_of=isoformat_utc(as_of)
        )


def _code_change(envelope: events.Envelope) -> list[schemas.CodeChange]:
    data = envelope.data
    at = isoformat_utc(envelope.occurred_at)
    if envelope.subject == events.TICKET_CHECKED_IN:
        status, serial = "used", data["serial"]
    elif data.get("revoked_serial") is None:
        return []  # a first sale revokes nothing
    else:
        status, serial = "revoked", data["revoked_serial"]
    change = schemas.CodeChange(
        position=envelope.sequence, ticket_id=data["id"], serial=serial, status=status, at=at
    )
    return [change]


def _staff_member(issuer_id: str, staff: User, added_at: datetime) -> schemas.StaffMember:
    return schemas.StaffMember(
        issuer_id=issuer_id, staff=user_view(staff), added_at=isoformat_utc(added_at)
    )


def _transfer_view(
    transfer: Transfer, user_id: str, titles: dict[str, str], names: dict[str, str]
) -> schemas.Transfer:
    outgoing = transfer.from_id == user_id
    other = transfer.to_id if outgoing else transfer.from_id
    return schemas.Transfer(
        ticket_id=transfer.ticket_id,
        title=titles.get(transfer.ticket_id, ""),
        kind=transfer.kind,
        role="from" if outgoing else "to",
        other_id=other,
        other=names.get(other, ""),
        price=transfer.price.format(),
        currency=transfer.price.currency,
        order_id=transfer.order_id,
        at=isoformat_utc(transfer.at),
    )


def _check_code_text(code: str) -> None:
    if not code or not code.strip():
        raise InvalidInput("A ticket code is required", "code")
    if len(code) > 512:
        raise InvalidInput("Not a valid ticket code", "code")
