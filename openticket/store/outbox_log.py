"""The outbox read as a log, in one order every reader agrees on.

On SQLite that order is `seq`: one writer at a time, so rows commit in `seq` order. On
PostgreSQL writers run in parallel and a row may commit after one with a higher `seq`; a
reader that went on from the highest `seq` it saw would skip it. So each row records the id of
the transaction that wrote it (`txid`), and the log is read in (txid, seq) order, only rows
below a horizon no row can ever appear before: the oldest transaction still running on this
database (`horizon`). A reader that goes on from the last row it saw misses none and repeats
none. A row becomes readable there once every older writer of this database has ended; a
transaction left open on another database of the same server holds nothing back.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, text, tuple_

from openticket.core.events import Envelope
from openticket.store.outbox import ENVELOPE_COLUMNS, envelope_of, outbox

# The horizon of the log, read in one statement (so from one moment of the lock table):
# `xmax`, the first transaction id the statement's snapshot counts as not yet begun, lowered
# to the oldest transaction id still running on this database. A transaction of this database
# has its id only once it has written (or locked) a row of one of its tables, and it holds
# that table's lock until it ends: so every transaction of this database that holds an id
# appears in pg_locks, beside its own `transactionid` lock, as long as it runs. Its id there
# is 32 bits; it is widened to the 64-bit id that `txid` records from the snapshot's xmax,
# which is less than 2^31 transactions away. Unlike pg_snapshot_xmin (the oldest running
# transaction of the whole server), this ignores other databases.
_HORIZON = text(
    """
    WITH snap AS (
        SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint AS xmax
    ), held AS MATERIALIZED (
        SELECT virtualtransaction, locktype, mode, database, transactionid
        FROM pg_locks WHERE pid IS DISTINCT FROM pg_backend_pid()
    ), here AS (
        SELECT DISTINCT virtualtransaction FROM held
        WHERE locktype = 'relation'
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ), running AS (
        SELECT (held.transactionid::text)::bigint AS xid
        FROM held JOIN here USING (virtualtransaction)
        WHERE held.locktype = 'transactionid' AND held.mode = 'ExclusiveLock'
    )
    SELECT least(
        snap.xmax,
        min(snap.xmax + (((running.xid - snap.xmax % 4294967296) % 4294967296
                          + 6442450944) % 4294967296 - 2147483648))
    )
    FROM snap LEFT JOIN running ON true GROUP BY snap.xmax
    """
)
_TXID_OF = select(outbox.c.txid).where(outbox.c.seq == bindparam("seq"))


def horizon(conn: Connection) -> int:
    """The log's horizon on PostgreSQL: every row that will ever have a lower `txid` has
    committed already, so a statement that begins after this one sees all of them."""
    return int(conn.execute(_HORIZON).scalar_one())


def read_log(conn: Connection, after_seq: int, limit: int) -> list[Envelope]:
    """The events after the one at `after_seq`, in log order (module docstring)."""
    if conn.dialect.name != "postgresql":
        query = select(*ENVELOPE_COLUMNS).where(outbox.c.seq > after_seq)
        rows = conn.execute(query.order_by(outbox.c.seq).limit(limit)).all()
        return [envelope_of(row) for row in rows]
    query = select(*ENVELOPE_COLUMNS).where(outbox.c.txid < horizon(conn))
    if after_seq:
        txid = conn.execute(_TXID_OF, {"seq": after_seq}).scalar()
        if txid is None:  # no event has this position: go on by number
            query = query.where(outbox.c.seq > after_seq)
        else:
            query = query.where(tuple_(outbox.c.txid, outbox.c.seq) > tuple_(txid, after_seq))
    rows = conn.execute(query.order_by(outbox.c.txid, outbox.c.seq).limit(limit)).all()
    return [envelope_of(row) for row in rows]


def last_seq(conn: Connection) -> int:
    """The position of the log's last event (read_log's order)."""
    if conn.dialect.name != "postgresql":
        query = select(outbox.c.seq).order_by(outbox.c.seq.desc()).limit(1)
    else:
        last = (outbox.c.txid.desc(), outbox.c.seq.desc())
        query = select(outbox.c.seq).where(outbox.c.txid < horizon(conn)).order_by(*last).limit(1)
    return int(conn.execute(query).scalar() or 0)
