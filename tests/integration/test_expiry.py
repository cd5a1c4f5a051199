"""Expiry: lazy on every read and reservation, and scheduled with APScheduler's persistent
job store in long-running processes. A paid order is never cancelled by a late expiration."""

from __future__ import annotations

import json
import math
import pickle
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openticket.app.local import LocalApi
from openticket.core.events import EXPIRATION_COMPLETE
from tests.conftest import ManualClock, eventually


def _db(db_url: str) -> Path:
    return Path(db_url.removeprefix("sqlite:///"))


def test_lazy_expiry_needs_no_timer(make_api: Callable[..., LocalApi], clock: ManualClock) -> None:
    api = make_api(order_ttl=60)
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    other = api.signup("other@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Late show", "15.00")
    order = api.create_order(buyer.token, ticket.id)
    clock.advance(59)
    assert api.list_tickets() == []
    clock.advance(2)
    assert [t.id for t in api.list_tickets()] == [ticket.id]
    assert api.get_order(buyer.token, order.id).status == "expired"
    cancelled = [e for e in api.events() if e.subject == "order:cancelled"]
    assert [e.data["reason"] for e in cancelled] == ["expired"]
    assert api.create_order(other.token, ticket.id).status == "created"


def test_reserve_expires_the_overdue_holder_in_the_same_transaction(
    make_api: Callable[..., LocalApi], clock: ManualClock, db_url: str
) -> None:
    api = make_api(order_ttl=60)
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    other = api.signup("other@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Late show", "15.00")
    first = api.create_order(buyer.token, ticket.id)
    clock.advance(61)
    second = api.create_order(other.token, ticket.id)  # no read happened in between
    with sqlite3.connect(_db(db_url)) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM orders").fetchall())
    assert statuses == {first.id: "expired", second.id: "created"}
    assert api.get_ticket(ticket.id).order_id == second.id


def test_jobs_are_persisted_by_reference_one_per_second(
    make_api: Callable[..., LocalApi], db_url: str, clock: ManualClock
) -> None:
    api = make_api()
    seller = api.signup("seller@example.com", "long enough")
    buyers = [api.signup(f"buyer{n}@example.com", "long enough") for n in range(4)]
    tickets = [api.create_ticket(seller.token, f"Seat {n}", "15.00") for n in range(4)]
    orders = [api.create_order(b.token, t.id) for b, t in zip(buyers[:3], tickets[:3], strict=True)]
    clock.advance(1.5)
    later = api.create_order(buyers[3].token, tickets[3].id)
    with sqlite3.connect(_db(db_url)) as conn:
        rows = conn.execute("SELECT id, job_state FROM apscheduler_jobs ORDER BY id").fetchall()
    # The first three end in the same second: one job stands for them.
    assert len(rows) == 2
    jobs = [pickle.loads(state) for _, state in rows]
    for (job_id, _), job, order in zip(rows, jobs, [orders[0], later], strict=True):
        due = datetime.fromisoformat(job["args"][0])
        assert due.timestamp() == int(due.timestamp()) == int(job_id.split(":")[1])
        assert datetime.fromisoformat(order.expires_at) <= due
        assert due - datetime.fromisoformat(order.expires_at) < timedelta(seconds=1)
        assert job["func"] == "openticket.core.expiration.jobs:fire_due"
        assert job["misfire_grace_time"] == 3600 and job["coalesce"] is True


def test_a_due_job_fires_what_is_due_and_nothing_else(
    make_api: Callable[..., LocalApi], db_url: str, clock: ManualClock
) -> None:
    api = make_api(order_ttl=60)
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    paid, open_, late = (api.create_ticket(seller.token, f"S{n}", "15.00") for n in range(3))
    paid_order = api.create_order(buyer.token, paid.id)
    open_order = api.create_order(buyer.token, open_.id)
    api.pay(buyer.token, paid_order.id, "tok_visa")
    clock.advance(30)
    late_order = api.create_order(buyer.token, late.id)
    clock.advance(31)
    api.runtime.fire_due_expirations(
        datetime.fromisoformat(open_order.expires_at)
    )  # no read before
    with sqlite3.connect(_db(db_url)) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM orders").fetchall())
        fired = conn.execute(
            "SELECT data FROM outbox WHERE subject = 'expiration:complete'"
        ).fetchall()
    assert statuses == {
        paid_order.id: "complete",
        open_order.id: "expired",
        late_order.id: "created",
    }
    assert [json.loads(data)["order_id"] for (data,) in fired] == [open_order.id]


def test_running_scheduler_expires_orders_without_any_read(
    make_api: Callable[..., LocalApi], db_url: str
) -> None:
    from openticket.core.clock import utc_now

    writer = make_api(order_ttl=1, clock=utc_now)
    seller = writer.signup("seller@example.com", "long enough")
    buyer = writer.signup("buyer@example.com", "long enough")
    ticket = writer.create_ticket(seller.token, "Late show", "15.00")
    order = writer.create_order(buyer.token, ticket.id)
    # A long-running process (server, TUI, worker) runs the jobs other processes stored.
    make_api(clock=utc_now, run_expiration_jobs=True)
    with sqlite3.connect(_db(db_url)) as conn:

        def cancelled() -> bool:
            return conn.execute("SELECT status FROM orders").fetchone()[0] == "expired"

        eventually(cancelled, what="the expiration job")
        status = conn.execute("SELECT status FROM orders").fetchone()[0]
        subjects = [row[0] for row in conn.execute("SELECT subject FROM outbox ORDER BY seq")]
        ticket_status = conn.execute("SELECT status FROM tickets").fetchone()[0]
    assert status == "expired"
    assert "expiration:complete" in subjects  # the timer fired, not a lazy read
    assert ticket_status == "available"
    assert order.id


def test_late_expiration_never_cancels_a_paid_order(
    make_api: Callable[..., LocalApi], clock: ManualClock
) -> None:
    api = make_api(order_ttl=60)
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    ticket = api.create_ticket(seller.token, "Late show", "15.00")
    order = api.create_order(buyer.token, ticket.id)
    api.pay(buyer.token, order.id, "tok_visa")
    clock.advance(3600)
    with api._uow.write() as tx:  # an expiry that raced the payment, delivered late
        tx.emit(EXPIRATION_COMPLETE, {"order_id": order.id})
    api._commands.deliver()
    assert api.get_order(buyer.token, order.id).status == "complete"
    assert api.get_ticket(ticket.id).status == "sold"
    assert api.list_tickets() == []


def test_a_running_scheduler_stores_jobs_off_the_request_thread_and_flushes_on_close(
    make_api: Callable[..., LocalApi], db_url: str
) -> None:
    from openticket.core.clock import utc_now

    api = make_api(clock=utc_now, run_expiration_jobs=True)
    seller = api.signup("seller@example.com", "long enough")
    buyer = api.signup("buyer@example.com", "long enough")
    order = api.create_order(buyer.token, api.create_ticket(seller.token, "Seat", "15.00").id)
    api.close()  # whatever the feeder thread still held is written before close returns
    due = math.ceil(datetime.fromisoformat(order.expires_at).timestamp())
    with sqlite3.connect(_db(db_url)) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM apscheduler_jobs")}
    assert stored == {f"expire-due:{due}"}


def test_expiry_jobs_go_on_running_when_the_store_fails_to_remove_one(
    make_api: Callable[..., LocalApi], db_url: str
) -> None:
    """A job that ran and could not be removed (the database restarting, say) stays and runs
    again; the jobs after it still run. APScheduler's thread used to end on such an error, and
    with it every expiry job of the process until it restarted."""
    from openticket.core.clock import utc_now

    writer = make_api(order_ttl=1, clock=utc_now)
    seller = writer.signup("seller@example.com", "long enough")
    buyer = writer.signup("buyer@example.com", "long enough")
    first, second = (writer.create_ticket(seller.token, f"Seat {n}", "15.00") for n in (1, 2))
    make_api(clock=utc_now, run_expiration_jobs=True)
    with sqlite3.connect(_db(db_url)) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_removal BEFORE DELETE ON apscheduler_jobs"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
        conn.commit()

        def expired_by_the_timer(order_id: str) -> bool:
            return any(
                json.loads(data)["order_id"] == order_id
                for (data,) in conn.execute(
                    "SELECT data FROM outbox WHERE subject = ?", (EXPIRATION_COMPLETE,)
                )
            )

        early = writer.create_order(buyer.token, first.id)
        eventually(lambda: expired_by_the_timer(early.id), what="the first expiration job")
        late = writer.create_order(buyer.token, second.id)  # its job is stored after the failure
        eventually(lambda: expired_by_the_timer(late.id), what="the second expiration job")
        stored = {row[0] for row in conn.execute("SELECT id FROM apscheduler_jobs")}
    assert len(stored) == 2  # both ran; neither could be removed


def ran_once() -> None:
    """A stored job's function (jobs are stored by reference)."""


def test_a_job_that_could_not_be_removed_is_tried_again_later_not_at_once(db_url: str) -> None:
    """It is still due: the scheduler's next pass would otherwise come at once, and again,
    running the job and failing its removal as fast as the machine goes."""
    from apscheduler.schedulers.base import STATE_RUNNING

    from openticket.scheduler import _scheduler_class, _shared_job_store
    from openticket.store.db import create_store_engine

    engine = create_store_engine(db_url)
    scheduler = _scheduler_class()(jobstores={"default": _shared_job_store(engine)}, timezone=UTC)
    scheduler.start(paused=True)  # its thread sleeps until woken; this test runs the pass
    try:
        scheduler.add_job(f"{__name__}:ran_once", "date", run_date=datetime.now(UTC), id="due")
        with sqlite3.connect(_db(db_url)) as conn:
            conn.execute(
                "CREATE TRIGGER refuse_removal BEFORE DELETE ON apscheduler_jobs"
                " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
            conn.commit()
        scheduler.state = STATE_RUNNING  # not resume(): that would wake its thread
        wait = scheduler._process_jobs()
        assert wait == scheduler.jobstore_retry_interval
        assert [job.id for job in scheduler.get_jobs()] == ["due"]
    finally:
        scheduler.shutdown(wait=False)
        engine.dispose()
