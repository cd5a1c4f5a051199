from sqlalchemy import Column, Integer, String, Table

from openticket.store.columns import keyed_table
from openticket.store.db import UTCDateTime, metadata

users = keyed_table(
    "auth_users",
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Tokens carry the epoch they were issued in; signing out everywhere moves it on.
    Column("token_epoch", Integer, nullable=False, server_default="0"),
    # How others see the user (a seller's listings); the email's local part when unset.
    Column("display_name", String(64), nullable=True),
)

revoked_tokens = Table(
    "auth_revoked_tokens",
    metadata,
    Column("jti", String(32), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

# Signing keys, where no key file or OPENTICKET_SECRET_KEY holds them (PostgreSQL).
signing_keys = Table(
    "auth_signing_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("secret", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
