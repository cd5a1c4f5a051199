"""Signed bearer tokens (JWT, HS256) that expire and can be revoked: one by its id (jti), or all
of a user's at once (their epoch), or every token by revoking the keys that signed them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeGuard

import jwt

from openticket.core.signing_keys import SigningKey

TOKEN_LIFETIME = timedelta(days=30)
ALGORITHM = "HS256"
TOKEN_MAX = 4096  # far beyond any token issued here; anything longer is not ours
_LAST_SECOND = datetime.max.replace(tzinfo=UTC).timestamp() - 86_400


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    email: str
    jti: str
    expires_at: datetime
    epoch: int


def issue(key: SigningKey, user_id: str, email: str, epoch: int, now: datetime) -> str:
    claims = {
        "sub": user_id,
        "email": email,
        "jti": uuid.uuid4().hex,
        "ep": epoch,
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
    }
    return jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})


def decode(keys: Sequence[SigningKey], token: str, now: datetime) -> TokenClaims | None:
    """The claims of a token one of `keys` signed and that has not expired, else None."""
    if len(token) > TOKEN_MAX:
        return None
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        return None
    # Tokens of earlier versions name no key: any key of the ring may have signed them.
    candidates = [key for key in keys if key.kid == kid] if kid is not None else keys
    for key in candidates:
        claims = _verified(key.secret, token)
        if claims is not None:
            return None if claims.expires_at <= now else claims
    return None


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> TokenClaims | None:
    """Checking a signature is a pure function of the secret and the token, and the most
    expensive step of every authenticated request: remembered. Expiry and revocation are
    still checked on every use."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "jti", "exp"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    # Signed by us means issued by us, but a signing key may have leaked: claims of the
    # wrong shape are refused, never a crash on every route.
    subject, jti = claims.get("sub"), claims.get("jti")
    expires, epoch = claims.get("exp"), claims.get("ep", 0)
    if not (_id(subject) and _id(jti) and _whole(expires) and _whole(epoch)):
        return None
    if not (0 < expires < _LAST_SECOND and 0 <= epoch < 2**31):
        return None
    return TokenClaims(
        subject,
        str(claims.get("email", "")),
        jti,
        datetime.fromtimestamp(expires, UTC),
        epoch,
    )


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= 32 and value.isascii() and value.isalnum()
