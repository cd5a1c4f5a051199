from sqlalchemy import Column, Index, Integer, String

from openticket.core.orders.waitlist.model import ACTIVE_STATUSES, OFFERED
from openticket.store.columns import ID_LENGTH, keyed_table, partial_index
from openticket.store.db import UTCDateTime

waitlist_entries = keyed_table(
    "waitlist_entries",
    Column("ticket_id", String(ID_LENGTH), nullable=False),
    Column("ticket_round", Integer, nullable=False),
    Column("ticket_title", String(200), nullable=False),
    Column("user_id", String(ID_LENGTH), nullable=False),
    Column("line", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("order_id", String(ID_LENGTH), nullable=True),
    Column("offer_seconds", Integer, nullable=False),
    Column("joined_at", UTCDateTime(), nullable=False),
    # The line's order is the database's: no two joiners share a place in it.
    Index("uq_waitlist_entries_line", "ticket_id", "ticket_round", "line", unique=True),
    Index("ix_waitlist_entries_user_id_joined_at", "user_id", "joined_at"),
    Index("ix_waitlist_entries_order_id", "order_id"),
)

# Once in a line at a time, and one offer of a listing at a time.
partial_index(
    "uq_waitlist_entries_active_user",
    (waitlist_entries.c.ticket_id, waitlist_entries.c.ticket_round, waitlist_entries.c.user_id),
    ACTIVE_STATUSES,
    unique=True,
)
partial_index(
    "uq_waitlist_entries_offer",
    (waitlist_entries.c.ticket_id, waitlist_entries.c.ticket_round),
    (OFFERED,),
    unique=True,
)
