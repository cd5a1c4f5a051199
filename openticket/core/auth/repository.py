from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from openticket.core.auth.model import User
from openticket.core.auth.tables import revoked_tokens, users
from openticket.core.auth.tables import signing_keys as signing_keys_table
from openticket.core.errors import Conflict
from openticket.core.ports import Transaction
from openticket.core.signing_keys import SigningKey, key_id
from openticket.store.bulk import rows_by_keys
from openticket.store.insert_new import insert_new
from openticket.store.uow import connection


def add_user(tx: Transaction, user: User, password_hash: str, now: datetime) -> None:
    conn = connection(tx)
    try:
        with conn.begin_nested():
            row = {"id": user.id, "email": user.email, "display_name": user.display_name}
            conn.execute(insert(users), row | {"password_hash": password_hash, "created_at": now})
    except IntegrityError:
        raise Conflict("Email in use", "email") from None


def find_by_email(tx: Transaction, email: str) -> tuple[User, str] | None:
    conn = connection(tx)
    row = conn.execute(select(users).where(users.c.email == email)).first()
    if row is None:
        return None
    return User(row.id, row.email, row.display_name), row.password_hash


def signing_keys(tx: Transaction) -> list[SigningKey]:
    """The keys kept in the store (PostgreSQL without OPENTICKET_SECRET_KEY, or what an
    earlier version kept there), newest first."""
    conn = connection(tx)
    rows = conn.execute(select(signing_keys_table).order_by(signing_keys_table.c.id.desc()))
    return [SigningKey(key_id(row.secret), row.secret, row.created_at) for row in rows]


def add_signing_key(tx: Transaction, key: SigningKey) -> None:
    conn = connection(tx)
    conn.execute(insert(signing_keys_table).values(secret=key.secret, created_at=key.created_at))


def delete_signing_keys(tx: Transaction) -> None:
    conn = connection(tx)
    conn.execute(delete(signing_keys_table))


_ACTIVE_USER = select(users.c.id, users.c.email, users.c.display_name).where(
    users.c.id == bindparam("user_id"),
    users.c.token_epoch == bindparam("epoch"),
    ~select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == bindparam("jti")).exists(),
)


def active_user(tx: Transaction, user_id: str, jti: str, epoch: int) -> User | None:
    """The user, unless this token of theirs was revoked, alone or with all their tokens
    (`epoch`: signing out everywhere moves it on). One query, built once: it runs on every
    command."""
    conn = connection(tx)
    row = conn.execute(_ACTIVE_USER, {"user_id": user_id, "jti": jti, "epoch": epoch}).first()
    return None if row is None else User(row.id, row.email, row.display_name)


_USERS_BY_IDS = select(users.c.id, users.c.email, users.c.display_name, users.c.token_epoch).where(
    users.c.id.in_(bindparam("user_ids", expanding=True))
)
_REVOKED_AMONG = select(revoked_tokens.c.jti).where(
    revoked_tokens.c.jti.in_(bindparam("jtis", expanding=True))
)

TokenKey = tuple[str, str, int]  # (user id, token id, epoch)


def active_users(tx: Transaction, keys: list[TokenKey]) -> dict[TokenKey, User]:
    """`active_user` for many tokens in two queries (a batch of requests): the user of each
    token that stands."""
    conn = connection(tx)
    found = {
        row.id: (User(row.id, row.email, row.display_name), row.token_epoch)
        for row in rows_by_keys(conn, _USERS_BY_IDS, "user_ids", sorted({k[0] for k in keys}))
    }
    revoked = {
        row.jti for row in rows_by_keys(conn, _REVOKED_AMONG, "jtis", sorted({k[1] for k in keys}))
    }
    active: dict[TokenKey, User] = {}
    for key in keys:
        user_id, jti, epoch = key
        if user_id in found and found[user_id][1] == epoch and jti not in revoked:
            active[key] = found[user_id][0]
    return active


def set_display_name(tx: Transaction, user_id: str, name: str) -> None:
    connection(tx).execute(update(users).where(users.c.id == user_id).values(display_name=name))


def shown_names(tx: Transaction, user_ids: list[str]) -> dict[str, str]:
    """How others see these users, by id."""
    return {user.id: user.shown_name for user in users_by_ids(tx, user_ids).values()}


def users_by_ids(tx: Transaction, user_ids: list[str]) -> dict[str, User]:
    if not user_ids:
        return {}
    query = select(users.c.id, users.c.email, users.c.display_name).where(
        users.c.id.in_(sorted(set(user_ids)))
    )
    return {row.id: User(*row) for row in connection(tx).execute(query)}


def token_epoch(tx: Transaction, user_id: str) -> int:
    conn = connection(tx)
    query = select(users.c.token_epoch).where(users.c.id == user_id)
    return int(conn.execute(query).scalar_one())


def end_token_epoch(tx: Transaction, user_id: str) -> None:
    """Every token issued to this user so far stops working."""
    conn = connection(tx)
    conn.execute(
        update(users).where(users.c.id == user_id).values(token_epoch=users.c.token_epoch + 1)
    )


def revoke(tx: Transaction, jti: str, expires_at: datetime, now: datetime) -> None:
    conn = connection(tx)
    # One statement: two sign-outs of one token at once must not collide.
    insert_new(conn, revoked_tokens, {"jti": jti, "expires_at": expires_at})
    # Revocations of tokens that have expired anyway are no longer needed.
    conn.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))


def is_revoked(tx: Transaction, jti: str) -> bool:
    conn = connection(tx)
    query = select(revoked_tokens.c.jti).where(revoked_tokens.c.jti == jti)
    return conn.execute(query).first() is not None
