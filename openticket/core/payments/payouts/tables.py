from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, false

from openticket.core.payments.payouts.model import HELD, RELEASING, REVERSING
from openticket.store.columns import ID_LENGTH, amount, keyed_table, partial_index
from openticket.store.db import UTCDateTime, metadata

# What each completed order owes its seller (gross = the price; net = gross - fee).
payouts = keyed_table(
    "payouts",
    Column("order_id", String(ID_LENGTH), nullable=False, unique=True),
    Column("ticket_id", String(ID_LENGTH), nullable=False, index=True),
    Column("seller_id", String(ID_LENGTH), nullable=False, index=True),
    *amount("gross"),
    Column("fee_minor", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("release_at", UTCDateTime(), nullable=False),
    Column("transfer_ref", String(255), nullable=True, index=True),
    # The buyer disputed the charge: the payout is not released until the dispute is settled.
    Column("disputed", Boolean, nullable=False, server_default=false()),
    # Transfers the provider refused so far: each try after a refusal has a key of its own
    # (a provider answers a key it has seen with its first answer, the refusal included).
    Column("refused_transfers", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
# The release and reversal work looks these up every second in a worker.
partial_index("ix_payouts_held_release_at", payouts.c.release_at, (HELD,))
partial_index("ix_payouts_in_flight", payouts.c.status, (RELEASING, REVERSING))

# Where each seller's payouts go, at the payment provider.
seller_accounts = Table(
    "payout_accounts",
    metadata,
    Column("user_id", String(ID_LENGTH), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("account_ref", String(255), nullable=False, index=True),
    Column("charges_enabled", Boolean, nullable=False),
    Column("payouts_enabled", Boolean, nullable=False),
    Column("onboarding_url", Text, nullable=True),
    # A dispute against one of the seller's sales holds all their payouts.
    Column("on_hold", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Tickets checked in, as payments heard of it: a sale's completion may come after its ticket's
# check-in (they come from two domains), and its payout is then due at once all the same.
check_ins = Table(
    "payout_check_ins",
    metadata,
    Column("ticket_id", String(ID_LENGTH), primary_key=True),
    Column("checked_in_at", UTCDateTime(), nullable=False),
)

# The ledger of the built-in `local` provider's transfers to sellers.
local_transfers = Table(
    "payments_local_transfers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("account_ref", String(255), nullable=False),
    *amount("amount"),
    Column("transfer_group", String(ID_LENGTH), nullable=False),
    Column("reversal_id", String(40), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
Index("ix_payments_local_transfers_account_ref", local_transfers.c.account_ref)
# A payout's transfer is looked up by its order before one is made (payouts/settling.py).
Index("ix_payments_local_transfers_transfer_group", local_transfers.c.transfer_group)
