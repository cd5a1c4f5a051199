"""The Api's calls about paying sellers (LocalApi takes them in): the seller's payouts, their
payout account and its onboarding, and a seller's refund of a sale. A thin map from each call
to a use case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openticket.app import schemas
from openticket.app.views import order_view
from openticket.core.clock import isoformat_utc
from openticket.core.errors import Unavailable
from openticket.core.orders import service as orders
from openticket.core.payments.payouts import service as payouts
from openticket.core.payments.payouts.model import SHOWN_STATUS, Payout, SellerAccount
from openticket.core.payments.provider import OutcomeUnknown
from openticket.core.tickets.holding import service as holding

if TYPE_CHECKING:
    from openticket.app.commands import Commands
    from openticket.app.runtime import Runtime
    from openticket.core.auth.model import User
    from openticket.core.ports import UnitOfWork


def payout_view(payout: Payout) -> schemas.Payout:
    return schemas.Payout(
        id=payout.id,
        order_id=payout.order_id,
        ticket_id=payout.ticket_id,
        gross=payout.gross.format(),
        fee=payout.fee.format(),
        net=payout.net.format(),
        currency=payout.gross.currency,
        status=SHOWN_STATUS[payout.status],
        release_at=isoformat_utc(payout.release_at),
    )


def account_view(account: SellerAccount | None, provider: str) -> schemas.PayoutAccount:
    if account is None:
        return schemas.PayoutAccount(
            onboarded=False,
            provider=provider,
            account_id=None,
            charges_enabled=False,
            payouts_enabled=False,
            onboarding_url=None,
        )
    return schemas.PayoutAccount(
        onboarded=True,
        provider=account.provider,
        account_id=account.account_ref,
        charges_enabled=account.charges_enabled,
        payouts_enabled=account.payouts_enabled,
        onboarding_url=None if account.payouts_enabled else account.onboarding_url,
        on_hold=account.on_hold,
    )


class PayoutCalls:
    _uow: UnitOfWork
    _commands: Commands
    runtime: Runtime

    if TYPE_CHECKING:  # LocalApi's own (the class this one is mixed into)

        def _authenticate(self, token: str | None) -> User: ...
        def _current(self) -> None: ...
        def _catch_up(self) -> None: ...

    def refund_order(self, token: str | None, order_id: str) -> schemas.Order:
        """The seller undoes a sale before its ticket is used: the buyer is refunded (their
        code revoked), the ticket is the seller's again, the payout is reversed."""
        user = self._authenticate(token)
        self._catch_up()
        self._commands.run("refund", lambda tx: holding.refund_sale(tx, user.id, order_id))
        with self._uow.read() as tx:
            return order_view(orders.sold_order(tx, user.id, order_id))

    def payouts(self, token: str | None) -> list[schemas.Payout]:
        user = self._authenticate(token)
        self._current()
        with self._uow.read() as tx:
            return [payout_view(p) for p in payouts.payouts_of(tx, user.id)]

    def payout_account(self, token: str | None) -> schemas.PayoutAccount:
        user = self._authenticate(token)
        with self._uow.read() as tx:
            account = payouts.account_of(tx, user.id)
        return account_view(account, self.runtime.provider.name)

    def onboard(self, token: str | None) -> schemas.PayoutAccount:
        """Make the seller's payout account at the payment provider (or, made before, bring
        its state up to date): with `local`, ready at once; with Stripe, an Express account
        and a link to finish onboarding. Payouts that waited for it are released."""
        user = self._authenticate(token)
        provider = self.runtime.provider
        with self._uow.read() as tx:
            known = payouts.account_of(tx, user.id)
        try:
            state = provider.open_account(user.id, None if known is None else known.account_ref)
        except OutcomeUnknown as error:
            raise Unavailable(f"Could not open the payout account: {error}") from None
        self._uow.transact(lambda tx: payouts.record_account(tx, user.id, provider.name, state))
        self.runtime.settle_payouts()
        return self.payout_account(token)
