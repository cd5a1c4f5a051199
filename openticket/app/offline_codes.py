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
    def from_data(cls, data: Any) -> OfflineList:
        """The list as kept; ValueError when what is kept is not such a list (edited, cut)."""
        try:
            listed = cls(
                keys={str(k): str(v) for k, v in data.get("keys", {}).items()},
                revoked={str(k): int(v) for k, v in data.get("revoked", {}).items()},
                used={str(k): [int(v[0]), str(v[1])] for k, v in data.get("used", {}).items()},
                last=int(data.get("last", 0)),
                synced_at=data.get("synced_at"),
            )
            if listed.synced_at is not None:
                _moment(listed.synced_at)
            for key in listed.keys.values():
                _decoded(key)
        except (AttributeError, TypeError, ValueError, IndexError, KeyError) as error:
            raise ValueError(f"not a list of codes: {type(error).__name__}") from None
        return listed

    def to_data(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "revoked": self.revoked,
            "used": self.used,
            "last": self.last,
            "synced_at": self.synced_at,
        }

    def take_keys(self, found: schemas.CodeKeys) -> None:
        """The marketplace's keys now: one it dropped (rotate-key --revoke-all) goes."""
        self.keys = {key.kid: key.public_key for key in found.keys}

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
        return max(0.0, (now - _moment(self.synced_at)).total_seconds())


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("a time without its zone")
    return moment


def _decoded(key: str) -> bytes:
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
