"""Outgoing webhooks: a user's endpoints, each given the user's news (the kinds it asks for)
as signed HTTP POSTs. A delivery is made in the transaction that makes the news (so a crash
loses none), keeps its id through every attempt (the receiver's idempotency id), and is
tried again with a growing gap for up to three days; a 410 Gone turns the endpoint off."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from openticket.core.errors import InvalidInput
from openticket.core.notify.model import (
    ORDER_EXPIRED,
    ORDER_VOIDED,
    PAYOUT_CHANGED,
    TICKET_RECEIVED,
    TICKET_SOLD,
    WAITLIST_OFFER_EXPIRED,
    WAITLIST_OFFERED,
    WATCH_MATCHED,
)

ACTIVE = "active"
DISABLED = "disabled"  # the receiver answered 410 Gone: nothing more is sent

PENDING = "pending"  # to be sent (again) at `next_attempt_at`
DELIVERED = "delivered"  # the receiver answered 2xx
FAILED = "failed"  # three days of refusals, or the endpoint answered 410
CANCELLED = "cancelled"  # its endpoint was removed or turned off first

KINDS = (
    WATCH_MATCHED,
    WAITLIST_OFFERED,
    WAITLIST_OFFER_EXPIRED,
    ORDER_EXPIRED,
    ORDER_VOIDED,
    TICKET_SOLD,
    TICKET_RECEIVED,
    PAYOUT_CHANGED,
)
ALL_KINDS = "*"
WEBHOOKS_PER_USER = 10
URL_MAX = 2000
RETRY_FOR = timedelta(days=3)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_GAP = timedelta(hours=6)
SEND_TIMEOUT_SECONDS = 10.0
# A claimed delivery is the claimer's for this long: a sender killed mid-send leaves it to
# be sent again (with the same id) once the lease ends.
LEASE = timedelta(seconds=SEND_TIMEOUT_SECONDS + 20)
SIGNATURE_HEADER = "X-Openticket-Signature"
DELIVERY_HEADER = "X-Openticket-Delivery"  # the idempotency id: the same on every attempt
KIND_HEADER = "X-Openticket-Event"


@dataclass(frozen=True)
class Webhook:
    id: str
    user_id: str
    url: str
    secret: str
    events: str  # kinds, comma-separated, or "*" for all
    status: str
    status_reason: str | None
    created_at: datetime

    def wants(self, kind: str) -> bool:
        return self.status == ACTIVE and (
            self.events == ALL_KINDS or kind in self.events.split(",")
        )

    def kinds(self) -> list[str]:
        return list(KINDS) if self.events == ALL_KINDS else self.events.split(",")


@dataclass(frozen=True)
class Delivery:
    id: str
    webhook_id: str
    kind: str
    body: str  # the JSON sent, fixed when made: every attempt sends the same bytes
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None  # the receiver's last HTTP status
    last_error: str | None  # why the last attempt failed, for the delivery log
    created_at: datetime
    delivered_at: datetime | None


def check_url(text: str | None) -> str:
    """An http(s) URL with a host and no credentials (where it points is checked apart:
    app/webhook_targets.py)."""
    url = (text or "").strip()
    if not url:
        raise InvalidInput("A URL is required", "url")
    if len(url) > URL_MAX or not url.isascii() or not url.isprintable() or " " in url:
        raise InvalidInput(f"URL must be at most {URL_MAX} printable ASCII characters", "url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises)
    except ValueError:
        raise InvalidInput("URL is not valid", "url") from None
    if parts.port == 0:
        raise InvalidInput("URL port must be from 1 to 65535", "url")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("URL must be http:// or https:// with a host", "url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("URL must not carry a user name or password", "url")
    return url


def check_kinds(kinds: list[str] | None) -> str:
    """The `events` of an endpoint: the kinds named (known ones), or all."""
    named = [k.strip() for part in (kinds or []) for k in part.split(",") if k.strip()]
    if not named or ALL_KINDS in named:
        return ALL_KINDS
    unknown = sorted(set(named) - set(KINDS))
    if unknown:
        raise InvalidInput(f"Unknown event {unknown[0]!r}: one of {', '.join(KINDS)}", "events")
    return ",".join(k for k in KINDS if k in named)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: str) -> str:
    """`t=…,v1=…`: HMAC-SHA256 with the endpoint's secret of `{t}.{body}` (the timestamp
    lets a receiver refuse an old message played again)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def next_attempt(created_at: datetime, attempts: int, now: datetime) -> datetime | None:
    """When to try again after `attempts` failed ones (30 s, 1 min, 2 min… at most 6 h
    apart); None once that would be more than three days after the delivery was made."""
    gap = min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20), LONGEST_GAP)
    at = now + gap
    return None if at > created_at + RETRY_FOR else at
