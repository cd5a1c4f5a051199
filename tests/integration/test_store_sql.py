"""The store's savepoints (and the events a transaction records) and status filters, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Select, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from openticket.core.errors import Conflict
from openticket.core.events import Envelope
from openticket.core.money import Money
from openticket.core.orders import repository as orders_repository
from openticket.core.orders import service as orders_service
from openticket.core.orders.model import Order, TicketReplica
from openticket.core.orders.tables import orders
from openticket.core.ports import RECORDED_MAX
from openticket.core.tickets import repository as tickets_repository
from openticket.core.tickets.model import Ticket
from openticket.core.tickets.tables import ticket_orders
from openticket.store.bulk import insert_many, insert_new_many, update_many
from openticket.store.db import create_store_engine
from openticket.store.migrate import upgrade
from openticket.store.outbox import outbox
from openticket.store.sql import one_of
from openticket.store.uow import Tx, UnitOfWork
from tests.conftest import postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        built = create_store_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(built)
        yield built
        built.dispose()
        return
    with postgres_database() as url:
        built = create_store_engine(url)
        upgrade(built)
        yield built
        built.dispose()


def _order_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(ticket_orders.c.id)).scalars())


def _add(tx: Tx, order_id: str) -> None:
    assert tickets_repository.add_order(tx, order_id, "ticket", 0, "created")


def test_a_savepoint_undoes_only_what_ran_inside_it(engine: Engine) -> None:
    uow = UnitOfWork(engine, lambda: datetime(2026, 11, 28, tzinfo=UTC))
    ran: list[str] = []
    with uow.write() as tx:
        _add(tx, "kept-before")
        kept = tx.emit("ticket:updated", {"n": 1})
        with pytest.raises(RuntimeError), tx.savepoint():
            _add(tx, "undone")
            tx.after_commit(lambda: ran.append("undone hook"))
            tx.emit("ticket:updated", {"n": 2})
            raise RuntimeError("refused")
        with tx.savepoint():
            _add(tx, "kept-outer")
            with pytest.raises(RuntimeError), tx.savepoint():  # nested
                _add(tx, "undone-inner")
                raise RuntimeError("refused")
            tx.after_commit(lambda: ran.append("kept hook"))
        # A statement that fails inside a savepoint leaves the transaction usable (on
        # PostgreSQL it would otherwise be aborted until the end).
        with pytest.raises(IntegrityError), tx.savepoint():
            tx.conn.execute(
                ticket_orders.insert().values(
                    id="kept-before", ticket_id="t", version=0, status="created"
                )
            )
        _add(tx, "kept-after")
    assert _order_ids(engine) == ["kept-after", "kept-before", "kept-outer"]
    assert ran == ["kept hook"]
    # what a command waits for is what it wrote: not the event the savepoint undid
    assert tx.written.events == [kept] and tx.emitted == 1


def test_events_emitted_in_a_deferred_block_that_raised_are_not_recorded(engine: Engine) -> None:
    uow = UnitOfWork(engine, lambda: datetime(2026, 11, 28, tzinfo=UTC))
    with uow.write() as tx:
        kept = tx.emit("ticket:updated", {"n": 1})
        with pytest.raises(RuntimeError), tx.emits_deferred():
            tx.emit("ticket:updated", {"n": 2})
            raise RuntimeError("refused")
        # nothing to publish or wait for but what was written
        assert tx.written.events == [kept] and tx.emitted == 1
    with engine.connect() as conn:
        assert conn.execute(select(outbox.c.event_id)).scalars().all() == [kept.id]


def test_a_recording_holds_what_this_thread_committed_while_it_lasted(engine: Engine) -> None:
    """What a command of several writes (a payment, an import) waits for: its own events."""
    uow = UnitOfWork(engine, lambda: datetime(2026, 11, 28, tzinfo=UTC))

    def emit(n: int) -> Envelope:
        return uow.transact(lambda tx: tx.emit("ticket:updated", {"n": n}))

    emit(0)  # before the block
    other_thread: list[Envelope] = []
    with uow.recording() as recorded:
        first = emit(1)
        with pytest.raises(RuntimeError), uow.write() as tx:
            tx.emit("ticket:updated", {"n": 2})
            raise RuntimeError("undone")
        thread = threading.Thread(target=lambda: other_thread.append(emit(3)))
        thread.start()
        thread.join(60)
        with uow.recording() as inner:
            second = emit(4)
        assert inner.take() == [second]
        with uow.write() as tx:
            with pytest.raises(RuntimeError), tx.savepoint():
                tx.emit("ticket:updated", {"n": 5})
                raise RuntimeError("undone")
            third = tx.emit("ticket:updated", {"n": 6})
    emit(7)  # after it
    assert len(other_thread) == 1
    assert recorded.take() == [first, second, third]
    assert recorded.take() == []  # taken: a second delivery does not send them again

    with uow.recording() as bulk:  # an import's: too many to hold, and nobody waits for them
        emit(8)
        uow.transact(lambda tx: tx.emit_many("ticket:created", [{"n": 9}] * RECORDED_MAX))
        emit(10)
    assert bulk.take() is None and bulk.events == []
    with uow.write() as tx:
        tx.emit_many("ticket:created", [{"n": 11}] * (RECORDED_MAX + 1))
        assert not tx.written.whole and tx.written.events == []
        assert tx.emitted == RECORDED_MAX + 1
    with uow.write() as tx:  # an overflow a savepoint undid still counts: nothing is lost
        tx.emit("ticket:updated", {"n": 12})
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.emit_many("ticket:created", [{"n": 13}] * RECORDED_MAX)
            raise RuntimeError("undone")
        assert not tx.written.whole and tx.emitted == 1


def test_a_recording_left_by_an_error_records_no_more(engine: Engine) -> None:
    uow = UnitOfWork(engine, lambda: datetime(2026, 11, 28, tzinfo=UTC))
    with pytest.raises(RuntimeError), uow.recording() as left:
        raise RuntimeError("refused")
    with uow.recording() as resumed:
        first = uow.transact(lambda tx: tx.emit("ticket:updated", {"n": 1}))
    uow.transact(lambda tx: tx.emit("ticket:updated", {"n": 2}))  # between the two blocks
    with uow.recording(resumed):  # a payment's charge goes on where its first writes ended
        second = uow.transact(lambda tx: tx.emit("ticket:updated", {"n": 3}))
    assert left.take() == []
    assert resumed.take() == [first, second]


def test_status_sets_are_written_into_the_sql() -> None:
    sql = str(select(orders.c.id).where(one_of(orders.c.status, ("created", "awaiting:payment"))))
    assert "IN ('created', 'awaiting:payment')" in sql
    with pytest.raises(ValueError, match="not a status constant"):
        one_of(orders.c.status, ("x') OR ('1'='1",))


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (orders_repository._LIVE_FOR_TICKET, "uq_orders_live_ticket_round"),
        (orders_repository._ANY_OVERDUE, "ix_orders_open_expires_at"),
    ],
)
def test_status_queries_use_their_partial_index_on_sqlite(
    tmp_path: Path, query: Select[Any], index: str
) -> None:
    """With the statuses as bound parameters SQLite scanned every order ever placed: for each
    reservation, and for the overdue check before every read."""
    engine = create_store_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(engine)
    compiled = query.compile(dialect=engine.dialect)
    unbound = (None,) * len(compiled.positiontup or ())  # the plan does not depend on them
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", unbound).all()
    engine.dispose()
    assert f"USING INDEX {index}" in " ".join(str(row[-1]) for row in plan)


def test_inserting_new_rows_in_bulk_reports_only_those_not_seen_before(engine: Engine) -> None:
    """More keys than one IN (…) lookup takes: the lookup goes in chunks, none is missed."""
    rows = [(f"order-{n:05}", "ticket", 0, "created") for n in range(1201)]
    columns = ("id", "ticket_id", "version", "status")
    with engine.begin() as conn:
        assert insert_new_many(conn, ticket_orders, columns, rows[::2]) == {r[0] for r in rows[::2]}
    with engine.begin() as conn:
        new = insert_new_many(conn, ticket_orders, columns, rows)
    assert new == {row[0] for row in rows[1::2]}
    assert _order_ids(engine) == [row[0] for row in rows]


def test_rows_inserted_in_bulk_read_back_as_written(engine: Engine) -> None:
    """Every kind of column a batch inserts (text, JSON, a UTC time, integers, nulls) comes
    back as given, and `skip_existing` leaves a taken key's row as it was."""
    when = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)
    columns = ("event_id", "subject", "occurred_at", "data", "attempts", "caused_by")
    hostile = "[/] \x1b[2J \u2018\u00e9\u2019 '\\ %s"
    rows = [
        (f"e{n:04}", "order:created", when, {"n": n, "title": hostile}, n, None) for n in range(300)
    ]
    rows[7] = ("e0007", "ticket:updated", when, {"nested": [1, {"a": None}]}, 0, "e0001")
    with engine.begin() as conn:
        insert_many(conn, outbox, columns, rows)
    again = [("e0007", "other", when, {}, 9, None), ("e9999", "new", when, [], 1, "e0007")]
    with engine.begin() as conn:
        insert_many(conn, outbox, columns, again, skip_existing=True)

    with engine.connect() as conn:
        query = select(*(outbox.c[name] for name in columns)).order_by(outbox.c.event_id)
        stored = [tuple(row) for row in conn.execute(query)]
    assert stored == [*rows, again[1]]


def test_a_bulk_insert_on_postgresql_refuses_a_value_too_long_for_its_column() -> None:
    """Not cut short to fit (SQLite keeps text of any length: nothing to refuse there)."""
    when = datetime(2026, 12, 3, tzinfo=UTC)
    columns = ("event_id", "subject", "occurred_at", "data", "attempts", "caused_by")
    rows = [("e1", "order:created", when, {}, 0, None), ("x" * 33, "s", when, {}, 0, None)]
    with postgres_database() as url:
        engine = create_store_engine(url)
        upgrade(engine)
        with pytest.raises(DBAPIError), engine.begin() as conn:
            insert_many(conn, outbox, columns, rows)
        with engine.connect() as conn:
            stored = conn.execute(select(outbox.c.event_id)).all()
        engine.dispose()
    assert stored == []


def test_rows_updated_in_bulk_change_only_the_rows_they_find(engine: Engine) -> None:
    """Each row is found by its key and the version it must still have: a stale one changes
    nothing and is not counted; JSON, times, integers and nulls are written as given."""
    when = datetime(2026, 12, 3, 9, 30, 15, 123456, tzinfo=UTC)
    later = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    hostile = "[/] \x1b[2J \u2018\u00e9\u2019 '\\ %s"
    columns = ("event_id", "subject", "occurred_at", "data", "attempts", "caused_by")
    rows = [(f"e{n}", "order:created", when, {"n": n}, 1, None) for n in range(4)]
    with engine.begin() as conn:
        insert_many(conn, outbox, columns, rows)

    changes = [
        ("e0", 1, hostile, later, {"title": hostile}, 2, "e3"),
        ("e1", 1, "ticket:updated", later, [1, None], 2, None),
        ("e2", 5, "stale", later, {}, 6, None),  # not at attempts 5: left as it is
    ]
    with engine.begin() as conn:
        changed = update_many(
            conn,
            outbox,
            ("event_id", "attempts"),
            ("subject", "occurred_at", "data", "attempts", "caused_by"),
            changes,
        )

    assert changed == 2
    with engine.connect() as conn:
        query = select(*(outbox.c[name] for name in columns)).order_by(outbox.c.event_id)
        stored = [tuple(row) for row in conn.execute(query)]
    assert stored == [
        ("e0", hostile, later, {"title": hostile}, 2, "e3"),
        ("e1", "ticket:updated", later, [1, None], 2, None),
        rows[2],
        rows[3],
    ]


def test_a_ticket_saved_twice_in_one_batch_keeps_its_last_version(engine: Engine) -> None:
    """Locked, then unlocked in the same batch: one row written, with the last values, over
    the version before the first; a version that skips one, or a stale one, is refused."""
    uow = UnitOfWork(engine, lambda: datetime(2026, 12, 3, tzinfo=UTC))
    listed = Ticket("t1", "Gig", Money(2000, "USD"), "seller", 0, "available", None)
    other = listed._replace(id="t2")
    with uow.write() as tx:
        tickets_repository.add_many(tx, [listed, other], tx.now)
    locked = listed._replace(version=1, status="reserved", order_id="o1")
    unlocked = locked._replace(version=2, status="available", order_id=None)
    with uow.write() as tx:
        tickets_repository.save_many(tx, [locked, other._replace(version=1), unlocked], tx.now)
    with uow.read() as tx:
        stored = tickets_repository.get_many(tx, ["t1", "t2"])
    assert stored == {"t1": unlocked, "t2": other._replace(version=1)}

    for refused in ([unlocked._replace(version=4)], [locked._replace(version=3), unlocked]):
        with pytest.raises(RuntimeError), uow.write() as tx:
            tickets_repository.save_many(tx, refused, tx.now)
    with uow.read() as tx:
        assert tickets_repository.get_many(tx, ["t1"]) == {"t1": unlocked}


def _subjects(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox.c.subject).order_by(outbox.c.seq)).scalars())


def test_deferred_events_are_written_together_in_the_order_emitted(engine: Engine) -> None:
    """What a savepoint undoes is not written; when the deferring block fails, none is."""
    uow = UnitOfWork(engine, lambda: datetime(2026, 12, 3, tzinfo=UTC))
    with uow.write() as tx:
        tx.emit("a:first", {})
        with tx.emits_deferred():
            tx.emit("b:deferred", {})
            with pytest.raises(RuntimeError), tx.savepoint():
                tx.emit("x:undone", {})
                tx.emit_many("x:undone-too", [{}, {}])
                raise RuntimeError("refused")
            tx.emit_many("c:many", [{"n": 1}, {"n": 2}], ["cause-1", "cause-2"])
            tx.emit("d:last", {})
            assert _subjects(engine) == []  # other connections see nothing before commit
    assert _subjects(engine) == ["a:first", "b:deferred", "c:many", "c:many", "d:last"]
    with engine.connect() as conn:
        causes = conn.execute(select(outbox.c.caused_by).order_by(outbox.c.seq)).scalars().all()
    assert causes == [None, None, "cause-1", "cause-2", None]

    with pytest.raises(RuntimeError), uow.write() as tx, tx.emits_deferred():
        tx.emit("y:never", {})
        raise RuntimeError("the batch failed")
    assert "y:never" not in _subjects(engine)


def test_orders_written_together_are_refused_together_when_a_ticket_is_taken(
    engine: Engine,
) -> None:
    """The unique index on live orders guards a batch's one insert: none of its orders is
    written, and the caller is told (on PostgreSQL the transaction cannot go on)."""
    uow = UnitOfWork(engine, lambda: datetime(2026, 12, 3, tzinfo=UTC))
    ticket = TicketReplica("t1", "Gig", Money(2000, "USD"), "seller", 1)
    other = ticket._replace(id="t2")

    def order(order_id: str, replica: TicketReplica) -> Order:
        return orders_service._new_order(replica, f"buyer-{order_id}", uow.clock())

    with uow.write() as tx:
        orders_repository.add(tx, order("held", ticket), tx.now)
    with pytest.raises(Conflict), uow.write() as tx:
        orders_repository.add_many(tx, [order("new", other), order("rival", ticket)], tx.now)
    with engine.connect() as conn:
        owners = conn.execute(select(orders.c.user_id)).scalars().all()
    assert owners == ["buyer-held"]
