from sqlalchemy import Column, Index, Integer, String

from openticket.store.columns import amount, keyed_table
from openticket.store.db import UTCDateTime

tickets = keyed_table(
    "tickets",
    Column("title", String(200), nullable=False),
    *amount("price"),
    Column("owner_id", String(32), nullable=False),  # indexed by uq_tickets_owner_external_id
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("order_id", String(32), nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("round", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # With the id, the listing order (created_at, id) is the index's own: an import's rows
    # share one created_at (one transaction), and a page of them must not sort them all.
    Index("ix_tickets_status_created_at_id", "status", "created_at", "id"),
    Index("uq_tickets_owner_external_id", "owner_id", "external_id", unique=True),
)

# The tickets domain's replica of orders: enough to apply order events in version order and to
# ignore a stale cancellation of an order that no longer holds the ticket.
ticket_orders = keyed_table(
    "tickets_orders",
    Column("ticket_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
)
