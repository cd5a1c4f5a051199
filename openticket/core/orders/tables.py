from sqlalchemy import Boolean, Column, Index, Integer, String, true

from openticket.core.orders.model import LIVE_STATUSES, OPEN_STATUSES
from openticket.store.columns import amount, keyed_table, partial_index
from openticket.store.db import UTCDateTime

orders = keyed_table(
    "orders",
    Column("user_id", String(32), nullable=False),
    Column("ticket_id", String(32), nullable=False),
    Column("ticket_title", String(200), nullable=False),
    *amount("price"),
    Column("status", String(20), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("payment_attempt", Integer, nullable=False, server_default="0"),
    Column("ticket_round", Integer, nullable=False, server_default="0"),
    Column("seller_id", String(32), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_orders_user_id_created_at", "user_id", "created_at"),
)

# One live order per listing of a ticket (its first sale, each resale), enforced by the
# database rather than a check-then-insert.
partial_index(
    "uq_orders_live_ticket_round",
    (orders.c.ticket_id, orders.c.ticket_round),
    LIVE_STATUSES,
    unique=True,
)
# Lazy expiry looks up open orders past their window.
partial_index("ix_orders_open_expires_at", orders.c.expires_at, OPEN_STATUSES)

# The orders domain's replica of tickets, kept in version order from ticket events.
order_tickets = keyed_table(
    "orders_tickets",
    Column("version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    *amount("price"),
    Column("owner_id", String(32), nullable=False),
    Column("round", Integer, nullable=False, server_default="0"),
    Column("on_sale", Boolean, nullable=False, server_default=true()),
)
