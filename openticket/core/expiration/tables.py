from sqlalchemy import Column, String, Table

from openticket.store.db import UTCDateTime, metadata

# The durable list of pending expirations; the scheduler's jobs are rebuilt from it.
schedule = Table(
    "expiration_schedule",
    metadata,
    Column("order_id", String(32), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)
