from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from openticket.core.orders.model import LIVE_STATUSES, OPEN_STATUSES
from openticket.store.db import UTCDateTime, metadata

orders = Table(
    "orders",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("ticket_id", String(32), nullable=False),
    Column("ticket_title", String(200), nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(20), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("payment_attempt", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_orders_user_id_created_at", "user_id", "created_at"),
)

# One live order per ticket, enforced by the database rather than a check-then-insert.
Index(
    "uq_orders_live_ticket",
    orders.c.ticket_id,
    unique=True,
    sqlite_where=orders.c.status.in_(LIVE_STATUSES),
    postgresql_where=orders.c.status.in_(LIVE_STATUSES),
)
# Lazy expiry looks up open orders past their window.
Index(
    "ix_orders_open_expires_at",
    orders.c.expires_at,
    sqlite_where=orders.c.status.in_(OPEN_STATUSES),
    postgresql_where=orders.c.status.in_(OPEN_STATUSES),
)

# The orders domain's replica of tickets, kept in version order from ticket events.
order_tickets = Table(
    "orders_tickets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("price_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("owner_id", String(32), nullable=False),
    Column("version", Integer, nullable=False),
)
