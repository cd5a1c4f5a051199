"""Stripe Connect for the Stripe provider: sellers' Express accounts, their onboarding links,
and the transfers (and reversals) that pay them — separate charges and transfers, linked by
the order as `transfer_group`. Every write carries an idempotency key, so a retry never makes
a second account or moves money twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from openticket.core.ids import is_id
from openticket.core.money import Money
from openticket.core.payments.provider import (
    AccountState,
    OutcomeUnknown,
    TransferRecord,
    TransferRefused,
)

if TYPE_CHECKING:
    import stripe

USER_METADATA_KEY = "openticket_user"
_PAGE = 100
# Where Stripe sends the seller after onboarding, or when a link has expired (then
# `payouts onboard` makes a new one).
DEFAULT_RETURN_URL = "https://dashboard.stripe.com/"


class StripeConnect:
    _stripe: Any
    _client: stripe.StripeClient
    return_url: str = DEFAULT_RETURN_URL

    if TYPE_CHECKING:  # the provider's own

        def _unknown(self, error: stripe.StripeError) -> OutcomeUnknown: ...

        def _text(self, error: stripe.StripeError) -> str: ...

    def open_account(self, user_id: str, account_ref: str | None) -> AccountState:
        try:
            if account_ref is None:
                account = self._client.v1.accounts.create(
                    params={
                        "type": "express",
                        "capabilities": {"transfers": {"requested": True}},
                        "metadata": {USER_METADATA_KEY: user_id},
                    },
                    options={"idempotency_key": f"account-{user_id}"},
                )
            else:
                account = self._client.v1.accounts.retrieve(account_ref)
            url = None
            if not account.details_submitted:
                link = self._client.v1.account_links.create(
                    params={
                        "account": account.id,
                        "type": "account_onboarding",
                        "refresh_url": self.return_url,
                        "return_url": self.return_url,
                    }
                )
                url = link.url
        except self._stripe.StripeError as error:
            raise self._unknown(error) from None
        return AccountState(
            account.id, bool(account.charges_enabled), bool(account.payouts_enabled), url
        )

    def account_state(self, account_ref: str) -> AccountState | None:
        stripe = self._stripe
        try:
            account = self._client.v1.accounts.retrieve(account_ref)
        except (stripe.InvalidRequestError, stripe.PermissionError) as gone:
            if isinstance(gone, stripe.InvalidRequestError) and gone.http_status != 404:
                raise self._unknown(gone) from None
            return None  # deleted, or disconnected from this platform
        except stripe.StripeError as error:
            raise self._unknown(error) from None
        return AccountState(
            account.id, bool(account.charges_enabled), bool(account.payouts_enabled)
        )

    def transfer(
        self,
        account_ref: str,
        amount: Money,
        idempotency_key: str,
        transfer_group: str,
        source_charge: str | None = None,
    ) -> str:
        stripe = self._stripe
        params: dict[str, Any] = {
            "amount": amount.minor,
            "currency": amount.currency.lower(),
            "destination": account_ref,
            "transfer_group": transfer_group,
        }
        try:
            if source_charge is not None:
                params["source_transaction"] = self._charge_of(source_charge)
            made = self._client.v1.transfers.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as refused:
            if isinstance(refused, stripe.IdempotencyError):
                raise self._unknown(refused) from None
            raise TransferRefused(f"Stripe refused the transfer: {self._text(refused)}") from None
        except stripe.StripeError as error:
            raise self._unknown(error) from None
        return made.id

    def _charge_of(self, provider_ref: str) -> str:
        """The Charge behind a PaymentIntent (a transfer's `source_transaction` names it)."""
        if not provider_ref.startswith("pi_"):
            return provider_ref
        intent = self._client.v1.payment_intents.retrieve(provider_ref)
        charge = _id_of(intent.latest_charge)
        if not charge:
            raise OutcomeUnknown(f"Stripe shows no charge for payment {provider_ref} yet.")
        return charge

    def reverse_transfer(self, transfer_ref: str, idempotency_key: str) -> str:
        stripe = self._stripe
        try:
            reversal = self._client.v1.transfers.reversals.create(
                transfer_ref, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as refused:
            if isinstance(refused, stripe.IdempotencyError):
                raise self._unknown(refused) from None
            if refused.code == "transfer_already_reversed":
                return self._reversal_of(transfer_ref)
            raise TransferRefused(f"Stripe refused the reversal: {self._text(refused)}") from None
        except stripe.StripeError as error:
            raise self._unknown(error) from None
        return reversal.id

    def _reversal_of(self, transfer_ref: str) -> str:
        """The reversal of a transfer taken back before (by us under another key, or by
        hand)."""
        try:
            found = self._client.v1.transfers.reversals.list(transfer_ref)
        except self._stripe.StripeError as error:
            raise self._unknown(error) from None
        return found.data[0].id if found.data else transfer_ref

    def transfers(self, transfer_group: str | None = None) -> Iterator[TransferRecord]:
        params: dict[str, Any] = {"limit": _PAGE}
        if transfer_group is not None:
            params["transfer_group"] = transfer_group
        try:
            found = self._client.v1.transfers.list(params=params)  # type: ignore[arg-type]
            for made in found.auto_paging_iter():
                group = made.transfer_group
                if not group or not is_id(group):
                    continue  # not one of ours: each of ours names its order
                yield TransferRecord(
                    transfer_ref=made.id,
                    transfer_group=group,
                    account_ref=_id_of(made.destination),
                    # What the seller keeps of it (a partial reversal shows as a difference)
                    amount=Money(made.amount - (made.amount_reversed or 0), made.currency.upper()),
                    reversed=bool(made.reversed),
                )
        except self._stripe.StripeError as error:
            raise self._unknown(error) from None


def _id_of(linked: Any) -> str:
    """An object Stripe links to: its id, whether the link is expanded or not."""
    if linked is None or isinstance(linked, str):
        return linked or ""
    return str(linked.id)
