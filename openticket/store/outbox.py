"""The outbox (the marketplace's event log) and the inbox of processed event ids.

Outbox rows are written in the same transaction as the state change that caused them, kept
after delivery (marked delivered), and read in one order (outbox_log.py), so every reader of
the log agrees.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    FetchedValue,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.sql.expression import Executable

from openticket.core.events import Envelope
from openticket.store.bulk import fetch_plain, insert_many, key_chunks, rows_by_keys
from openticket.store.columns import serial
from openticket.store.db import UTCDateTime, metadata
from openticket.store.insert_new import insert_new, insert_unless_taken

MAX_SEQ = 2**63 - 1  # the log's positions are 64-bit

outbox = Table(
    "outbox",
    metadata,
    serial("seq"),  # 64-bit: an event log outlives 2^31 events
    Column("event_id", String(32), nullable=False, unique=True),
    Column("subject", String(64), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("data", JSON, nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    # The event whose handling emitted this one, where the handler ran for one event known
    # by id (the broker's consumers, batch handlers): with a broker a command waits for the
    # consequences of its own events, found through it (JetStreamBus._settle).
    Column("caused_by", String(32), nullable=True, index=True),
    # The writing transaction's id, filled in by PostgreSQL (migration 0007); NULL on SQLite.
    Column("txid", BigInteger, nullable=True, server_default=FetchedValue()),
    Index("ix_outbox_txid_seq", "txid", "seq"),
    Index(
        "ix_outbox_pending",
        "seq",
        sqlite_where=Column("delivered_at").is_(None),
        postgresql_where=Column("delivered_at").is_(None),
    ),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("event_id", String(32), primary_key=True),
    Column("processed_at", UTCDateTime(), nullable=False),
    # Which consumers applied an event (a waiting command's question): the primary key leads
    # with the consumer (migration 0014).
    Index("ix_processed_events_event_id", "event_id", "consumer"),
)


# Built once: these run several times per command (see bench/reserve.py).
_APPEND = insert(outbox)
ENVELOPE_COLUMNS = (
    outbox.c.seq,
    outbox.c.event_id,
    outbox.c.subject,
    outbox.c.occurred_at,
    outbox.c.data,
    outbox.c.attempts,
)
_HAS_PENDING = select(outbox.c.seq).where(outbox.c.delivered_at.is_(None)).limit(1)
_MARK_DELIVERED = (
    update(outbox)
    .where(outbox.c.seq.between(bindparam("first"), bindparam("last")))
    .values(delivered_at=bindparam("now"))
)


def _row(envelope: Envelope) -> dict[str, object]:
    return {
        "event_id": envelope.id,
        "subject": envelope.subject,
        "occurred_at": envelope.occurred_at,
        "data": envelope.data,
        "attempts": 0,
    }


def append(conn: Connection, envelope: Envelope, caused_by: str | None = None) -> int:
    key = conn.execute(_APPEND, _row(envelope) | {"caused_by": caused_by}).inserted_primary_key
    assert key is not None
    return int(key[0])


def append_many(
    conn: Connection, envelopes: Sequence[Envelope], causes: Sequence[str | None] | None = None
) -> None:
    """`append` for many; `causes`, when given, is each envelope's `caused_by`."""
    if not envelopes:
        return
    columns: tuple[str, ...] = ("event_id", "subject", "occurred_at", "data", "attempts")
    rows: list[tuple[Any, ...]] = [(e.id, e.subject, e.occurred_at, e.data, 0) for e in envelopes]
    if causes is not None:
        columns += ("caused_by",)
        rows = [(*row, cause) for row, cause in zip(rows, causes, strict=True)]
    insert_many(conn, outbox, columns, rows)


def envelope_of(row: Row[Any, Any, Any, Any, Any, Any]) -> Envelope:
    seq, event_id, subject, occurred_at, data, attempts = row
    return Envelope(event_id, subject, occurred_at, data, seq, attempts)


_PENDING_REFS = (
    select(outbox.c.seq, outbox.c.event_id, outbox.c.attempts)
    .where(outbox.c.delivered_at.is_(None))
    .order_by(outbox.c.seq)
    .limit(bindparam("limit"))
)
_BY_SEQS = (
    select(*ENVELOPE_COLUMNS)
    .where(outbox.c.seq.in_(bindparam("seqs", expanding=True)))
    .order_by(outbox.c.seq)
)


def pending_refs(conn: Connection, limit: int) -> list[tuple[int, str, int]]:
    """(seq, event_id, attempts) of the oldest undelivered events, without their payloads
    (`by_seqs` reads those a process does not have in memory)."""
    return [
        (seq, event_id, attempts)
        for seq, event_id, attempts in fetch_plain(conn, _PENDING_REFS, {"limit": limit})
    ]


_CLAIM_UNPUBLISHED = (
    select(*ENVELOPE_COLUMNS)
    .where(outbox.c.delivered_at.is_(None))
    .order_by(outbox.c.seq)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)


def claim_unpublished(conn: Connection, limit: int) -> list[Envelope]:
    """The oldest undelivered events that no other transaction holds, locked until this one
    ends (PostgreSQL's FOR UPDATE SKIP LOCKED): concurrent publishers take disjoint rows, so
    they neither publish the same rows nor wait for each other's marks."""
    return [envelope_of(row) for row in conn.execute(_CLAIM_UNPUBLISHED, {"limit": limit})]


def by_seqs(conn: Connection, seqs: Sequence[int]) -> list[Envelope]:
    return [envelope_of(row) for row in rows_by_keys(conn, _BY_SEQS, "seqs", seqs)]


def has_pending(conn: Connection) -> bool:
    return conn.execute(_HAS_PENDING).first() is not None


def mark_delivered(conn: Connection, seqs: Sequence[int], now: datetime) -> None:
    """One range update per run of consecutive sequence numbers: a pass usually delivers
    one unbroken run, and a 5,000-value IN list costs more to build than to execute."""
    ranges: list[dict[str, object]] = []
    for seq in sorted(seqs):
        if ranges and ranges[-1]["last"] == seq - 1:
            ranges[-1]["last"] = seq
        else:
            ranges.append({"first": seq, "last": seq, "now": now})
    if ranges:
        conn.execute(_MARK_DELIVERED, ranges)


def mark_delivered_ids(conn: Connection, event_ids: Sequence[str], now: datetime) -> None:
    """`mark_delivered` for events known by id (published as their command wrote them). Rows
    a worker's pass holds are skipped, not waited for: it is publishing and marking them."""
    for chunk in key_chunks(event_ids):
        unmarked = (
            select(outbox.c.seq)
            .where(outbox.c.event_id.in_(chunk), outbox.c.delivered_at.is_(None))
            .with_for_update(skip_locked=True)
        )
        conn.execute(
            update(outbox)
            .where(outbox.c.seq.in_(unmarked.scalar_subquery()))
            .values(delivered_at=now)
        )


def record_failure(conn: Connection, seq: int, error: str) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.seq == seq)
        .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
    )


def record_left_pending(conn: Connection, seqs: Sequence[int]) -> None:
    """Count a delivery pass that applied these events for some consumers only."""
    if seqs:
        conn.execute(_LEFT_PENDING, [{"b_seq": seq} for seq in seqs])


_LEFT_PENDING = (
    update(outbox).where(outbox.c.seq == bindparam("b_seq")).values(attempts=outbox.c.attempts + 1)
)


def claim(conn: Connection, consumer: str, event_id: str, now: datetime) -> bool:
    """Record that `consumer` processes this event; False if it already has. One statement,
    in the consumer's transaction, so the claim commits or rolls back with the effect."""
    values = {"consumer": consumer, "event_id": event_id, "processed_at": now}
    return insert_new(conn, processed_events, values)


def claim_many(
    conn: Connection, consumer: str, event_ids: Sequence[str], now: datetime
) -> set[str]:
    """`claim` for many events at once; returns the ids this consumer had not processed. One
    INSERT … ON CONFLICT DO NOTHING RETURNING: no savepoint and no lookup (a consumer's batch
    on a database 2 ms away paid four round trips for them). On PostgreSQL the ids go as one
    array, so the statement is the same for every batch and compiled once (a VALUES list of
    the batch's length was compiled anew each time: a third of a consumer's CPU)."""
    ids = list(dict.fromkeys(event_ids))
    if conn.dialect.name == "postgresql":
        values = {"consumer": consumer, "ids": ids, "now": now}
        return set(conn.execute(_claim_array(), values).scalars())
    statement = insert_unless_taken(processed_events, conn.dialect.name).returning(
        processed_events.c.event_id
    )
    fresh: set[str] = set()
    for chunk in key_chunks(ids):
        rows = [
            {"consumer": consumer, "event_id": event_id, "processed_at": now} for event_id in chunk
        ]
        fresh.update(conn.execute(statement.values(rows)).scalars())
    return fresh


@functools.cache
def _claim_array() -> Executable:
    # Imported here: a dialect package costs tens of milliseconds at every CLI start.
    from sqlalchemy.dialects import postgresql

    claimed = select(
        bindparam("consumer", type_=String()),
        func.unnest(bindparam("ids", type_=postgresql.ARRAY(String()))),
        bindparam("now", type_=UTCDateTime()),
    )
    columns = ["consumer", "event_id", "processed_at"]
    statement = postgresql.insert(processed_events).from_select(columns, claimed)
    return statement.on_conflict_do_nothing().returning(processed_events.c.event_id)


_CAUSED_BY = select(outbox.c.caused_by, outbox.c.event_id, outbox.c.subject).where(
    outbox.c.caused_by.in_(bindparam("causes", expanding=True))
)


def caused_by(conn: Connection, causes: Sequence[str]) -> list[tuple[str, str, str]]:
    """(cause, event_id, subject) of the events emitted while handling these."""
    rows = rows_by_keys(conn, _CAUSED_BY, "causes", causes)
    return [(cause, event_id, subject) for cause, event_id, subject in rows]


def processed(conn: Connection, event_ids: Sequence[str]) -> set[tuple[str, str]]:
    """The (consumer, event_id) pairs applied among these events."""
    done: set[tuple[str, str]] = set()
    for chunk in key_chunks(event_ids):
        query = select(processed_events.c.consumer, processed_events.c.event_id).where(
            processed_events.c.event_id.in_(chunk)
        )
        done.update((consumer, event_id) for consumer, event_id in conn.execute(query))
    return done
