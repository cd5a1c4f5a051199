from __future__ import annotations

import secrets
import weakref
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from openticket.core.auth.model import User
from openticket.core.auth.tables import revoked_tokens, signing_keys, users
from openticket.core.errors import Conflict


def add_user(conn: Connection, user: User, password_hash: str, now: datetime) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                insert(users).values(
                    id=user.id, email=user.email, password_hash=password_hash, created_at=now
                )
            )
    except IntegrityError:
        raise Conflict("Email in use", "email") from None


def find_by_email(conn: Connection, email: str) -> tuple[User, str] | None:
    row = conn.execute(select(users).where(users.c.email == email)).first()
    if row is None:
        return None
    return User(row.id, row.email), row.password_hash


def email_taken(conn: Connection, email: str) -> bool:
    return conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None


# A store's signing secret never changes once created, so each engine reads it once.
_secrets: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def signing_secret(conn: Connection) -> str | None:
    cached = _secrets.get(conn.engine)
    if cached is not None:
        return cached
    query = select(signing_keys.c.secret).order_by(signing_keys.c.id).limit(1)
    secret = conn.execute(query).scalar()
    if secret is not None:
        _secrets[conn.engine] = secret
    return secret


_ACTIVE_USER = select(users.c.id, users.c.email).where(
    users.c.id == bindparam("user_id"),
    ~select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == bindparam("jti")).exists(),
)


def active_user(conn: Connection, user_id: str, jti: str) -> User | None:
    """The user, unless this token of theirs was revoked (one query, built once: it runs on
    every command)."""
    row = conn.execute(_ACTIVE_USER, {"user_id": user_id, "jti": jti}).first()
    return None if row is None else User(row.id, row.email)


def create_signing_secret(conn: Connection, now: datetime) -> str:
    existing = signing_secret(conn)
    if existing is not None:
        return existing
    secret = secrets.token_urlsafe(48)
    conn.execute(insert(signing_keys).values(secret=secret, created_at=now))
    return secret


def revoke(conn: Connection, jti: str, expires_at: datetime, now: datetime) -> None:
    if not is_revoked(conn, jti):
        conn.execute(insert(revoked_tokens).values(jti=jti, expires_at=expires_at))
    # Revocations of tokens that have expired anyway are no longer needed.
    conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))


def is_revoked(conn: Connection, jti: str) -> bool:
    query = select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti)
    return conn.execute(query).first() is not None
