"""Auth use cases: sign up, sign in, sign out, and who a token belongs to."""

from __future__ import annotations

from openticket.core.auth import repository, tokens
from openticket.core.auth.model import User, normalize_email, validate_signup
from openticket.core.auth.passwords import PasswordHasher
from openticket.core.errors import Conflict, InvalidInput, NotSignedIn
from openticket.core.ids import new_id
from openticket.store.uow import Tx

INVALID_CREDENTIALS = "Invalid credentials"


def _secret(tx: Tx) -> str:
    secret = repository.signing_secret(tx.conn)
    return secret if secret is not None else repository.create_signing_secret(tx.conn, tx.now)


def check_signup(tx: Tx, email: str, password: str) -> str:
    """Validate a signup before the (slow) hashing; return the normalized email."""
    normalized = validate_signup(email, password)
    if repository.email_taken(tx.conn, normalized):
        raise Conflict("Email in use", "email")
    return normalized


def signup(tx: Tx, email: str, password_hash: str) -> tuple[User, str]:
    user = User(new_id(), email)
    repository.add_user(tx.conn, user, password_hash, tx.now)
    return user, tokens.issue(_secret(tx), user.id, user.email, tx.now)


def signin(tx: Tx, hasher: PasswordHasher, email: str, password: str) -> tuple[User, str]:
    if not password:
        raise InvalidInput("Password cannot be empty", "password")
    found = repository.find_by_email(tx.conn, normalize_email(email))
    if found is None:
        hasher.verify_nothing(password)
        raise InvalidInput(INVALID_CREDENTIALS)
    user, password_hash = found
    if not hasher.verify(password, password_hash):
        raise InvalidInput(INVALID_CREDENTIALS)
    return user, tokens.issue(_secret(tx), user.id, user.email, tx.now)


def authenticate(tx: Tx, token: str | None) -> User:
    """The user a token belongs to; NotSignedIn when it is missing, forged, expired or revoked."""
    user = find_user(tx, token)
    if user is None:
        raise NotSignedIn()
    return user


def find_user(tx: Tx, token: str | None) -> User | None:
    if not token:
        return None
    secret = repository.signing_secret(tx.conn)
    if secret is None:
        return None
    claims = tokens.decode(secret, token, tx.now)
    if claims is None:
        return None
    return repository.active_user(tx.conn, claims.user_id, claims.jti)


def signout(tx: Tx, token: str) -> None:
    authenticate(tx, token)
    secret = repository.signing_secret(tx.conn)
    assert secret is not None
    claims = tokens.decode(secret, token, tx.now)
    assert claims is not None
    repository.revoke(tx.conn, claims.jti, claims.expires_at, tx.now)
