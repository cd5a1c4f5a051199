"""APScheduler with its persistent SQLAlchemy job store, as the expiration timer.

Short-lived processes (CLI commands) only write jobs into the store: their scheduler is started
paused, and a job is written before the command returns. A long-running process
(`run_jobs=True`) runs them, polling the store so that jobs written by other processes are
noticed; it hands new jobs to one feeder thread rather than writing them in the thread that
placed the order, so a server's requests never queue behind APScheduler's job-store lock. Only
one process may run jobs from a store at a time: such a process is a candidate, and runs them
only while it holds the store's leader lock (`store/leader.py`); the others try to take it
every LEADER_RETRY_SECONDS, so one takes over when the leader dies, and re-creates the jobs of
every pending expiry (`on_leader`). Correctness does not depend on any of this:
expiry is also applied lazily on every read, and a restarted process re-creates its jobs from
the expiration domain's table.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from openticket.core.expiration import jobs
from openticket.store.db import write_lock
from openticket.store.leader import LeaderLock, leader_lock

log = logging.getLogger("openticket.scheduler")

MISFIRE_GRACE_SECONDS = 3600
POLL_SECONDS = 1.0
MAX_REMEMBERED_SECONDS = 4096
LEADER_RETRY_SECONDS = 1.0


def job_id(second: int) -> str:
    return f"expire-due:{second}"


class ApschedulerTimer:
    """One persistent job per second in which some order's window ends, not one per order:
    the orders themselves are in the expiration table, and the job fires whatever is due
    there. A server reserving hundreds of tickets a second writes one job a second."""

    def __init__(
        self,
        engine: Engine,
        fire_due: Callable[[datetime], None],
        *,
        run_jobs: bool = False,
        on_leader: Callable[[], None] = lambda: None,
        leader: LeaderLock | None = None,
    ) -> None:
        self._engine = engine
        self._on_leader = on_leader
        self._leader = leader or leader_lock(engine)
        self._stop = threading.Event()
        self._candidate: threading.Thread | None = None
        self._fire_due = fire_due
        self._run_jobs = run_jobs
        self._scheduler: Any = None
        self._lock = threading.Lock()
        self._changes: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._feeder: threading.Thread | None = None
        self._stored: set[int] = set()  # seconds whose job this process has stored

    def _started(self) -> Any:
        with self._lock:
            if self._scheduler is None:
                from apscheduler.jobstores.memory import MemoryJobStore

                scheduler = _scheduler_class()(
                    jobstores={
                        "default": _shared_job_store(self._engine),
                        "local": MemoryJobStore(),
                    },
                    job_defaults={
                        "misfire_grace_time": MISFIRE_GRACE_SECONDS,
                        "coalesce": True,
                        "max_instances": 1,
                    },
                    timezone=UTC,
                )
                if self._run_jobs:
                    jobs.register(self._fire_due)
                    # Wake up regularly: jobs written by other processes do not wake us.
                    scheduler.add_job(
                        _noop, "interval", seconds=POLL_SECONDS, id="poll", jobstore="local"
                    )
                scheduler.start(paused=True)
                self._scheduler = scheduler
                if self._run_jobs:
                    self._feeder = threading.Thread(
                        target=self._feed, name="openticket-expiry-feeder", daemon=True
                    )
                    self._feeder.start()
                    self._candidate = threading.Thread(
                        target=self._lead, name="openticket-expiry-candidate", daemon=True
                    )
                    self._candidate.start()
            return self._scheduler

    def _lead(self) -> None:
        """Wait for the leader lock, then run the jobs."""
        while not self._stop.is_set():
            try:
                if self._leader.try_acquire():
                    break
            except Exception:  # the store is unreachable for now; try again
                log.exception("could not ask for the expiration leader lock")
            self._stop.wait(LEADER_RETRY_SECONDS)
        else:
            return
        log.info("this process runs the expiration jobs")
        with self._lock:
            if self._scheduler is None:
                return
            self._scheduler.resume()
        try:
            self._on_leader()
        except Exception:  # lazy expiry still applies; the jobs come back at the next start
            log.exception("could not re-create the pending expiration jobs")

    def start(self) -> None:
        self._started()

    def schedule(self, order_id: str, at: datetime) -> None:
        second = math.ceil(at.timestamp())
        with self._lock:
            if second in self._stored:
                return
            self._stored.add(second)
            if len(self._stored) > MAX_REMEMBERED_SECONDS:
                self._stored = set(sorted(self._stored)[-MAX_REMEMBERED_SECONDS // 2 :])
        scheduler = self._started()
        if self._feeder is not None:
            self._changes.put(second)
        else:
            _store_job(scheduler, second)

    def _feed(self) -> None:
        while (second := self._changes.get()) is not None:
            try:
                _store_job(self._scheduler, second)
            except Exception:  # the next start re-creates it from the expiration table
                log.exception("could not store the expiry job for %s", second)

    def shutdown(self) -> None:
        self._stop.set()
        if self._candidate is not None:
            self._candidate.join()
            self._candidate = None
        with self._lock:
            if self._feeder is not None:
                self._changes.put(None)  # after the changes already queued
                self._feeder.join()
                self._feeder = None
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
                self._scheduler = None
                if self._run_jobs:
                    jobs.register(None)
            self._leader.release()


def _store_job(scheduler: Any, second: int) -> None:
    at = datetime.fromtimestamp(second, UTC)
    scheduler.add_job(
        jobs.JOB_REF,
        "date",
        run_date=at,
        args=[at.isoformat()],
        id=job_id(second),
        name=f"expire orders due by {at.isoformat()}",
        replace_existing=True,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
        coalesce=True,
    )


def _scheduler_class() -> Any:
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.base import STATE_STOPPED

    class ClosingScheduler(BackgroundScheduler):  # type: ignore[misc]
        """Shut down while its thread is between running a job and removing it, APScheduler
        raises JobLookupError in that thread: a stopped scheduler has no job stores left.
        Any error of the job store in its thread would end that thread, and with it every
        expiry job of the process until a restart: such a pass is tried again later."""

        removal_failed = False

        def _process_jobs(self) -> float | None:
            # shutdown() sets STOPPED and then wakes the thread, which would look for due
            # jobs once more and submit them to the executors it just closed: a traceback
            # per missed job in every short-lived command (which never runs jobs).
            if self.state == STATE_STOPPED:
                return None
            retry = float(self.jobstore_retry_interval)
            self.removal_failed = False
            try:
                result: float | None = super()._process_jobs()
            except Exception as error:  # APScheduler catches only a failed look for due jobs
                log.warning(
                    "expiry jobs: the job store failed (%s); again in %s s",
                    _kind(error),
                    retry,
                    exc_info=not isinstance(error, SQLAlchemyError),
                )
                return retry
            if self.removal_failed:  # that job is due still: not again at once, but later
                return retry if result is None else max(result, retry)
            return result

        def remove_job(self, job_id: str, jobstore: str | None = None) -> None:
            """A job that ran and cannot be removed stays, and runs again (it fires what is
            due by then, nothing more); the jobs after it in the pass still run."""
            try:
                super().remove_job(job_id, jobstore)
            except JobLookupError:
                if self.state != STATE_STOPPED:
                    raise
            except SQLAlchemyError as error:
                log.warning("expiry job %s ran but stays stored (%s)", job_id, _kind(error))
                self.removal_failed = True

    return ClosingScheduler


def _shared_job_store(engine: Engine) -> Any:
    """APScheduler's SQLAlchemy job store, for a table several processes write: a job another
    process already removed is not an error (APScheduler's scheduler thread dies on one)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    lock = write_lock(engine)

    class SharedSQLAlchemyJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
        """Writes also take the store's write lock, so they queue with the marketplace's own
        writes instead of sleeping in SQLite's busy handler."""

        def add_job(self, job: Any) -> None:
            with lock:
                super().add_job(job)

        def update_job(self, job: Any) -> None:
            with lock:
                super().update_job(job)

        def remove_job(self, job_id: str) -> None:
            delete = self.jobs_t.delete().where(self.jobs_t.c.id == job_id)
            with lock, self.engine.begin() as connection:
                connection.execute(delete)

    return SharedSQLAlchemyJobStore(engine=engine)


def _kind(error: BaseException) -> str:
    """What went wrong, without the statement and its values that SQLAlchemy's text holds."""
    cause = getattr(error, "orig", None) or error
    return type(cause).__name__


def _noop() -> None:
    """The poll job: waking the scheduler is all it is for."""
