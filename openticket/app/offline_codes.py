"""Verifying codes without the marketplace: its public keys and revocation list, fetched
once (`openticket verify --sync`) and kept by the client. A code is judged as of the list's
time: one revoked or used since then still shows as valid, so the answer says how old the
list is."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openticket.app import schemas
from openticket.core.tickets.holding import codes


@dataclass
class OfflineList:
    keys: dict[str, str] = field(default_factory=dict)  # kid -> public key, base64url
    revoked: dict[str, int] = field(default_factory=dict)  # ticket -> highest revoked serial
    used: dict[str, list[Any]] = field(default_factory=dict)  # ticket -> [serial, at]
    last: int = 0  # the position to fetch changes after
    synced_at: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> OfflineList:
        return cls(
            keys=dict(data.get("keys", {})),
            revoked={k: int(v) for k, v in data.get("revoked", {}).items()},
            used={k: list(v) for k, v in data.get("used", {}).items()},
            last=int(data.get("last", 0)),
            synced_at=data.get("synced_at"),
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "revoked": self.revoked,
            "used": self.used,
            "last": self.last,
            "synced_at": self.synced_at,
        }

    def take_keys(self, found: schemas.CodeKeys) -> None:
        self.keys |= {key.kid: key.public_key for key in found.keys}

    def take_changes(self, found: schemas.CodeChanges) -> None:
        for change in found.changes:
            if change.status == "revoked":
                known = self.revoked.get(change.ticket_id, 0)
                self.revoked[change.ticket_id] = max(known, change.serial)
            else:
                self.used[change.ticket_id] = [change.serial, change.at]
        self.last = found.last
        self.synced_at = found.as_of

    def verify(self, code: str) -> schemas.Verification:
        public = {kid: _decoded(key) for kid, key in self.keys.items()}
        claim = codes.read(code, public)
        if claim is None:
            return schemas.Verification(
                status="invalid", ticket_id=None, title=None, checked_in_at=None
            )
        ticket = claim.ticket_id
        used = self.used.get(ticket)
        if claim.serial <= self.revoked.get(ticket, 0):
            status, at = "revoked", None
        elif used is not None and int(used[0]) == claim.serial:
            status, at = "used", str(used[1])
        else:
            status, at = "valid", None
        return schemas.Verification(status=status, ticket_id=ticket, title=None, checked_in_at=at)

    def age_seconds(self, now: datetime) -> float | None:
        if self.synced_at is None:
            return None
        synced = datetime.fromisoformat(self.synced_at.replace("Z", "+00:00"))
        return max(0.0, (now - synced).total_seconds())


def _decoded(key: str) -> bytes:
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
