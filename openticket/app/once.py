"""Idempotency keys as LocalApi uses them: the first answer to a key is the answer to every
repeat of the same request.

A creating call done in one transaction (a listing, a reservation) remembers its answer in
that transaction. A payment spans several (the card is charged between two), so its key is
claimed first: a repeat that arrives while the first is running waits for its answer (or is
told it is in progress, 409 with Retry-After), and afterwards gets the same answer, a final
refusal (a declined card, a completed order) included.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta
from typing import Any

from openticket.app import schemas
from openticket.app.ports import ClaimState, IdempotencyRecords
from openticket.core.errors import (
    Conflict,
    DomainError,
    ErrorItem,
    Forbidden,
    InProgress,
    InvalidInput,
    PaymentDeclined,
)
from openticket.core.ports import Transaction, UnitOfWork

# Refusals that the same request would get again: remembered for the key. Others (not
# signed in, throttled, a provider that cannot be reached) may pass: a retry runs again.
# (Not NotFound: on a broker, a replica that has not seen the order yet says so for a moment.)
_FINAL: dict[str, type[DomainError]] = {
    kind.__name__: kind for kind in (InvalidInput, PaymentDeclined, Forbidden, Conflict)
}
WAIT_SECONDS = 10.0
KEY_MAX = 200


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > KEY_MAX or not (key.isascii() and key.isprintable()):
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {KEY_MAX} printable ASCII characters",
            "Idempotency-Key",
        )


class Once:
    """An idempotency key (or None: no key, every call runs) for one creating call."""

    def __init__(
        self,
        key: str | None,
        user_id: str,
        *request: object,
        records: IdempotencyRecords | None = None,
    ) -> None:
        if key is not None:
            check_key(key)
        self._records = records
        self.key = key
        self.user_id = user_id
        self.fingerprint = fingerprint(*request)
        self._held_until: datetime | None = None  # this call's claim on the key

    def replay(self, tx: Transaction) -> dict[str, Any] | None:
        if self.key is None:
            return None
        assert self._records is not None
        return _answer(self._records.replay(tx, self.user_id, self.key, self.fingerprint))

    def remember(self, tx: Transaction, answer: schemas.Public) -> None:
        if self.key is not None:
            self._keep(tx, answer.model_dump(mode="json"))

    def _keep(self, tx: Transaction, response: dict[str, Any]) -> None:
        assert self.key is not None
        assert self._records is not None
        self._records.remember(tx, self.user_id, self.key, self.fingerprint, response)

    # -- a call that spans several transactions ------------------------------------------
    def claim(
        self, uow: UnitOfWork, lease: timedelta, wait_seconds: float = WAIT_SECONDS
    ) -> dict[str, Any] | None:
        """None when this call is to run (and answer for the key); else the first answer
        (a remembered refusal is raised again). Waits for a repeat's running original."""
        if self.key is None:
            return None
        deadline = time.monotonic() + wait_seconds
        pause = 0.02
        while True:
            with uow.write() as tx:
                assert self._records is not None
                found = self._records.claim(
                    tx, self.user_id, self.key, self.fingerprint, tx.now + lease
                )
            if found.state is ClaimState.CLAIMED:
                self._held_until = found.held_until
                return None
            if found.state is ClaimState.ANSWERED:
                return _answer(found.response)
            if time.monotonic() >= deadline:
                raise InProgress(
                    "A request with this Idempotency-Key is in progress: try again shortly",
                    "Idempotency-Key",
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def answered(self, uow: UnitOfWork, answer: schemas.Public) -> None:
        if self.key is not None:
            uow.transact(lambda tx: self.remember(tx, answer))

    def refused(self, uow: UnitOfWork, error: BaseException) -> None:
        """The call ended with `error`: a final refusal is this key's answer; anything else
        frees the key for a retry."""
        if self.key is None:
            return
        with uow.write() as tx:
            if isinstance(error, DomainError) and type(error).__name__ in _FINAL:
                items = [{"message": i.message, "field": i.field} for i in error.items]
                self._keep(tx, {"refused": type(error).__name__, "errors": items})
            elif self._held_until is not None:
                assert self._records is not None
                self._records.release(tx, self.user_id, self.key, self._held_until)


def _answer(response: dict[str, Any] | None) -> dict[str, Any] | None:
    """A remembered answer, or the remembered refusal raised again."""
    if response is None or "refused" not in response:
        return response
    kind = _FINAL.get(str(response["refused"]), Conflict)
    raise kind.many([ErrorItem(e["message"], e.get("field")) for e in response["errors"]])
