from sqlalchemy import BigInteger, Column, Integer, String, Table

from openticket.store.columns import ID_LENGTH, amount, keyed_table, serial
from openticket.store.db import UTCDateTime, metadata

# Who holds each sold ticket (the row's id is the ticket's). `serial` counts its holders: the
# code of holder N says N, so a code of an earlier holder is revoked by the row itself.
holdings = keyed_table(
    "ticket_holdings",
    Column("holder_id", String(ID_LENGTH), nullable=False, index=True),
    Column("issuer_id", String(ID_LENGTH), nullable=False),  # who first listed it
    Column("serial", Integer, nullable=False),
    *amount("paid"),  # what this holder paid (0 for a gift)
    Column("basis_minor", BigInteger, nullable=False),  # what the resale cap is a share of
    Column("order_id", String(ID_LENGTH), nullable=True),  # the sale that brought it
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("checked_in_at", UTCDateTime(), nullable=True),
    Column("prior_paid_minor", BigInteger, nullable=True),  # the seller's, for a refund
    Column("prior_basis_minor", BigInteger, nullable=True),
)

# Who may check in the tickets an issuer listed, besides the issuer.
checkin_staff = Table(
    "ticket_checkin_staff",
    metadata,
    Column("issuer_id", String(ID_LENGTH), primary_key=True),
    Column("staff_id", String(ID_LENGTH), primary_key=True),
    Column("added_at", UTCDateTime(), nullable=False),
)

# Every change of holder: who passed it to whom, how, at what price (the chain each side sees).
transfers = Table(
    "ticket_transfers",
    metadata,
    serial("id"),
    Column("ticket_id", String(ID_LENGTH), nullable=False, index=True),
    Column("from_id", String(ID_LENGTH), nullable=False, index=True),
    Column("to_id", String(ID_LENGTH), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # "sale", "gift" or "refund"
    Column("serial", Integer, nullable=False),  # the new holder's
    *amount("price"),
    Column("order_id", String(ID_LENGTH), nullable=True, index=True),
    Column("at", UTCDateTime(), nullable=False),
)

# The keys ticket codes are signed with, where no key file holds them (PostgreSQL).
code_keys = Table(
    "ticket_code_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
