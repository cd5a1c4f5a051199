from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, UniqueConstraint

from openticket.store.columns import ID_LENGTH, keyed_table, serial
from openticket.store.db import UTCDateTime, metadata

# Saved searches: a listing matching one is news to its user (once per listing).
watches = keyed_table(
    "notify_watches",
    Column("user_id", String(ID_LENGTH), nullable=False, index=True),
    Column("search", Text, nullable=False),
    # model.folded(search); empty (in every title) for a watch an older version wrote
    Column("search_folded", Text, nullable=False, server_default=""),
    Column("max_price_minor", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Which listings (a ticket in one round of sale) each watch has announced: never twice.
watch_hits = Table(
    "notify_watch_hits",
    metadata,
    Column("watch_id", String(ID_LENGTH), primary_key=True),
    Column("ticket_id", String(ID_LENGTH), primary_key=True),
    Column("round", Integer, primary_key=True),
)

# Each user's stream: one row per piece of news, in the order it arrived, numbered 1, 2, 3…
# per user (a number shared by everyone would let a user count others' news).
notifications = Table(
    "notify_notifications",
    metadata,
    serial("seq"),
    Column("id", String(ID_LENGTH), nullable=False, unique=True),
    Column("user_id", String(ID_LENGTH), nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("data", Text, nullable=False),  # JSON
    # The event it came from: a redelivered event makes no second notification.
    Column("source", String(80), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("source", "user_id", name="uq_notify_notifications_source_user"),
    UniqueConstraint("user_id", "number", name="uq_notify_notifications_user_number"),
)

# How far each user has read their stream (the TUI's unread count).
readers = Table(
    "notify_readers",
    metadata,
    Column("user_id", String(ID_LENGTH), primary_key=True),
    Column("seen_seq", BigInteger, nullable=False),
)

# Who is on each side of an order (from order:created): whom its later news is for.
order_parties = keyed_table(
    "notify_orders",
    Column("buyer_id", String(ID_LENGTH), nullable=False),
    Column("seller_id", String(ID_LENGTH), nullable=True),
    Column("ticket_id", String(ID_LENGTH), nullable=False),
    Column("title", Text, nullable=False),
)
