from sqlalchemy import Column, Index, Integer, String, Table, Text

from openticket.core.payments.model import LIVE_STATUSES, PENDING
from openticket.store.columns import amount, keyed_table, partial_index
from openticket.store.db import UTCDateTime, metadata

payments = keyed_table(
    "payments",
    Column("order_id", String(32), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    *amount("amount"),
    Column("provider", String(32), nullable=False),
    Column("source", String(255), nullable=False),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    Column("provider_ref", String(255), nullable=True),
    Column("failure_message", Text, nullable=True),
    # Where the buyer authenticates a charge that asks for it (3-D Secure).
    Column("action_url", Text, nullable=True),
    # A pending attempt is being driven by a live process until then; after it, anyone may
    # drive it again (with its idempotency key, which cannot charge twice).
    Column("lease_until", UTCDateTime(), nullable=True),
    # After an unknown outcome, when the recovery may ask the provider again (the buyer's own
    # retry does not wait for it).
    Column("retry_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# One charge in flight or kept per order: a double submit cannot charge twice.
partial_index("uq_payments_live_order", payments.c.order_id, LIVE_STATUSES, unique=True)
Index("ix_payments_status", payments.c.status)
# The recovery of abandoned attempts looks up pending ones whose lease is over, often.
partial_index("ix_payments_pending_lease_until", payments.c.lease_until, (PENDING,))

# The payments domain's replica of orders, kept in version order from order events.
payment_orders = keyed_table(
    "payments_orders",
    Column("user_id", String(32), nullable=False),
    *amount("price"),
    Column("status", String(20), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("cancel_reason", String(20), nullable=True),
    # Whom a completed order pays, for what (None for orders made before payouts existed).
    Column("seller_id", String(32), nullable=True),
    Column("ticket_id", String(32), nullable=True),
)

# The ledger of the built-in `local` provider: what a card network would remember.
local_charges = Table(
    "payments_local_charges",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("idempotency_key", String(80), nullable=False, unique=True),
    *amount("amount"),
    Column("source", String(255), nullable=False),
    Column("status", String(20), nullable=False),
    Column("failure_message", Text, nullable=True),
    Column("refund_id", String(40), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Each notification of the payment provider (a Stripe webhook event), applied once: its id is
# the key, so a notification sent again changes nothing.
provider_notifications = Table(
    "payments_provider_notifications",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("kind", String(100), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)
