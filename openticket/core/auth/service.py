"""Auth use cases: sign up, sign in, sign out (one token or all of a user's), who a token
belongs to, and rotating the keys tokens are signed with."""

from __future__ import annotations

from openticket.core.auth import repository, tokens
from openticket.core.auth.model import (
    EMAIL_MAX,
    User,
    clean_display_name,
    email_problem,
    normalize_email,
    password_length_problem,
    validate_signup,
)
from openticket.core.auth.passwords import PasswordHasher
from openticket.core.errors import InvalidInput, NotFound, NotSignedIn
from openticket.core.ids import new_id
from openticket.core.ports import Transaction
from openticket.core.signing_keys import KeyRing, SigningKey
from openticket.core.text import storable

INVALID_CREDENTIALS = "Invalid credentials"


def check_signup(email: str, password: str) -> str:
    """Validate a signup before the (slow) hashing; return the normalized email."""
    return validate_signup(email, password)


def signup(
    tx: Transaction, keys: KeyRing, email: str, password_hash: str, display_name: str | None = None
) -> tuple[User, str]:
    user = User(new_id(), email, display_name)
    repository.add_user(tx, user, password_hash, tx.now)
    return user, tokens.issue(keys.signing_key(tx), user.id, user.email, 0, tx.now)


def find_credentials(tx: Transaction, email: str, password: str) -> tuple[User, str] | None:
    """The account a sign-in names and its password hash (None: no such account), once the
    input is fit to be checked at all."""
    if not password:
        raise InvalidInput("Password cannot be empty", "password")
    if (problem := password_length_problem(password)) is not None:
        raise InvalidInput(problem, "password")  # before any hashing of it
    normalized = normalize_email(email)
    if len(normalized) > EMAIL_MAX or not storable(normalized):
        raise InvalidInput(INVALID_CREDENTIALS)  # no account has such an address
    return repository.find_by_email(tx, normalized)


def check_password(hasher: PasswordHasher, found: tuple[User, str] | None, password: str) -> User:
    """The signing-in user; an unknown email costs the time of a wrong password. Done outside
    any transaction: a hashing holds no lock."""
    if found is None:
        hasher.verify_nothing(password)
        raise InvalidInput(INVALID_CREDENTIALS)
    user, password_hash = found
    if not hasher.verify(password, password_hash):
        raise InvalidInput(INVALID_CREDENTIALS)
    return user


def issue_token(tx: Transaction, keys: KeyRing, user: User) -> str:
    epoch = repository.token_epoch(tx, user.id)
    return tokens.issue(keys.signing_key(tx), user.id, user.email, epoch, tx.now)


def authenticate(tx: Transaction, keys: KeyRing, token: str | None) -> User:
    """The user a token belongs to; NotSignedIn when it is missing, forged, expired or revoked."""
    user = find_user(tx, keys, token)
    if user is None:
        raise NotSignedIn()
    return user


def _claims(tx: Transaction, keys: KeyRing, token: str | None) -> tokens.TokenClaims | None:
    if not token:
        return None
    return tokens.decode(keys.verifying_keys(tx), token, tx.now)


def find_users(tx: Transaction, keys: KeyRing, tokens_: list[str | None]) -> dict[str, User]:
    """`find_user` for many tokens at once (a batch of requests): the user of each token
    that stands, by token; a missing, forged, expired or revoked one is not there."""
    claimed = {
        token: claims for token in set(tokens_) if token and (claims := _claims(tx, keys, token))
    }
    active = repository.active_users(
        tx, [(claims.user_id, claims.jti, claims.epoch) for claims in claimed.values()]
    )
    return {
        token: user
        for token, claims in claimed.items()
        if (user := active.get((claims.user_id, claims.jti, claims.epoch))) is not None
    }


def find_user(tx: Transaction, keys: KeyRing, token: str | None) -> User | None:
    claims = _claims(tx, keys, token)
    if claims is None:
        return None
    return repository.active_user(tx, claims.user_id, claims.jti, claims.epoch)


def signout(tx: Transaction, keys: KeyRing, token: str, *, everywhere: bool = False) -> None:
    """Revoke this token; `everywhere`: every token the user holds, on every device."""
    user = authenticate(tx, keys, token)
    if everywhere:
        repository.end_token_epoch(tx, user.id)
        return
    claims = _claims(tx, keys, token)
    assert claims is not None
    repository.revoke(tx, claims.jti, claims.expires_at, tx.now)


def rotate_keys(tx: Transaction, keys: KeyRing, *, revoke_all: bool) -> SigningKey:
    """A new signing key; tokens signed by the older ones keep working until they expire,
    unless `revoke_all`, which signs every user out everywhere."""
    return keys.rotate(tx, revoke_all=revoke_all)


def rename(tx: Transaction, user: User, display_name: str) -> User:
    """`user` as others will see them: by `display_name`."""
    name = clean_display_name(display_name)
    repository.set_display_name(tx, user.id, name)
    return User(user.id, user.email, name)


def user_by_email(tx: Transaction, email: str, field: str = "email") -> User:
    """The account with this email (someone a ticket is given to, a check-in helper)."""
    normalized = normalize_email(email)
    if email_problem(normalized) is not None or not storable(normalized):
        raise InvalidInput("Email must be valid", field)
    found = repository.find_by_email(tx, normalized)
    if found is None:
        raise NotFound("No user has this email", field)
    return found[0]


def shown_names(tx: Transaction, user_ids: list[str]) -> dict[str, str]:
    return repository.shown_names(tx, user_ids)


def users_by_ids(tx: Transaction, user_ids: list[str]) -> dict[str, User]:
    return repository.users_by_ids(tx, user_ids)
