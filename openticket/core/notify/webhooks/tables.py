from sqlalchemy import Column, Index, Integer, String, Text

from openticket.core.notify.webhooks.model import PENDING
from openticket.store.columns import ID_LENGTH, keyed_table, partial_index
from openticket.store.db import UTCDateTime

# A user's endpoints. The secret is kept to sign with (shown to its user once).
webhooks = keyed_table(
    "notify_webhooks",
    Column("user_id", String(ID_LENGTH), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("secret", String(80), nullable=False),
    Column("events", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# One row per piece of news per endpoint; its id is the receiver's idempotency id.
webhook_deliveries = keyed_table(
    "notify_webhook_deliveries",
    Column("webhook_id", String(ID_LENGTH), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Index("ix_notify_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at"),
)
# What the sender looks for each second: the pending ones that are due.
partial_index("ix_notify_webhook_deliveries_due", webhook_deliveries.c.next_attempt_at, (PENDING,))
