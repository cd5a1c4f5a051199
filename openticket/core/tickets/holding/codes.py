"""Ticket codes: a compact, URL-safe string that proves offline "ticket X, holder serial N,
signed by this marketplace's key K".

    base64url(version (1 byte) | key id (8) | ticket id (16) | serial (4) | signature (64))

A code is made again whenever it is shown (Ed25519 signatures are deterministic, so the same
key, ticket and serial give the same code); nothing but the keys is stored. A transfer moves
the serial on, which revokes the previous holder's code. The signing key is derived from a
secret of the codes' own key ring (never the tokens'), so a ring's rotation keeps every older
public key for verification.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from openticket.core.signing_keys import SigningKey

VERSION = 1
_KID_BYTES = 8
_SIGNED_BYTES = 1 + _KID_BYTES + 16 + 4
_CODE_BYTES = _SIGNED_BYTES + 64
CODE_LENGTH = len(base64.urlsafe_b64encode(bytes(_CODE_BYTES)).rstrip(b"="))


class CodeKey(NamedTuple):
    """A ring's key as codes use it: its id (16 hex digits) and its Ed25519 pair."""

    kid: str
    private: Ed25519PrivateKey

    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes_raw()


def code_key(key: SigningKey) -> CodeKey:
    seed = hashlib.sha256(b"openticket ticket code\0" + key.secret.encode()).digest()
    return CodeKey(key.kid, Ed25519PrivateKey.from_private_bytes(seed))


class CodeClaim(NamedTuple):
    """What a well-formed code says (its signature checked separately)."""

    kid: str
    ticket_id: str
    serial: int


def issue(key: CodeKey, ticket_id: str, serial: int) -> str:
    signed = (
        bytes([VERSION])
        + bytes.fromhex(key.kid)
        + bytes.fromhex(ticket_id)
        + serial.to_bytes(4, "big")
    )
    return _text(signed + key.private.sign(signed))


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def read(code: str, public_keys: Mapping[str, bytes]) -> CodeClaim | None:
    """The claim of a code signed by one of `public_keys` (kid → raw Ed25519 public key); None
    for anything else: malformed, tampered, or another marketplace's."""
    text = code.strip()
    if len(text) != CODE_LENGTH or not text.isascii():
        return None
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _CODE_BYTES or raw[0] != VERSION or _text(raw) != text:
        return None  # one spelling per code: scanners may compare them as strings
    signed, signature = raw[:_SIGNED_BYTES], raw[_SIGNED_BYTES:]
    kid = signed[1 : 1 + _KID_BYTES].hex()
    public = public_keys.get(kid)
    if public is None:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, signed)
    except (InvalidSignature, ValueError):
        return None
    ticket_id = signed[1 + _KID_BYTES : 1 + _KID_BYTES + 16].hex()
    return CodeClaim(kid, ticket_id, int.from_bytes(signed[-4:], "big"))
