"""Signed bearer tokens (JWT, HS256) that expire and can be revoked by their id (jti)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

TOKEN_LIFETIME = timedelta(days=30)
ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    email: str
    jti: str
    expires_at: datetime


def issue(secret: str, user_id: str, email: str, now: datetime) -> str:
    claims = {
        "sub": user_id,
        "email": email,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + TOKEN_LIFETIME).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode(secret: str, token: str, now: datetime) -> TokenClaims | None:
    """The claims of a token this store signed and that has not expired, else None."""
    claims = _verified(secret, token)
    if claims is None or claims.expires_at <= now:
        return None
    return claims


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
    expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    return TokenClaims(
        str(claims["sub"]), str(claims.get("email", "")), str(claims["jti"]), expires_at
    )
