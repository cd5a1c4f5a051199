"""The outbox read as the marketplace's event log: the application's port (app/ports.py)."""

from __future__ import annotations

from openticket.core.events import Envelope
from openticket.core.ports import Transaction
from openticket.store import outbox, outbox_log
from openticket.store.uow import connection


class OutboxLog:
    max_seq = outbox.MAX_SEQ

    def has_pending(self, tx: Transaction) -> bool:
        return outbox.has_pending(connection(tx))

    def read(self, tx: Transaction, after: int, limit: int) -> list[Envelope]:
        return outbox_log.read_log(connection(tx), after, limit)

    def last_seq(self, tx: Transaction) -> int:
        return outbox_log.last_seq(connection(tx))
