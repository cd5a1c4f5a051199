"""APScheduler with its persistent SQLAlchemy job store, as the expiration timer.

Short-lived processes (CLI commands) only write jobs into the store: their scheduler is started
paused. A long-running process (`run_jobs=True`) runs them, polling the store so that jobs
written by other processes are noticed. Only one process may run jobs from a store at a time.
Correctness does not depend on any of this: expiry is also applied lazily on every read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from openticket.core.expiration import jobs

log = logging.getLogger("openticket.scheduler")

MISFIRE_GRACE_SECONDS = 3600
POLL_SECONDS = 1.0


def job_id(order_id: str) -> str:
    return f"expire:{order_id}"


class ApschedulerTimer:
    def __init__(
        self, engine: Engine, fire: Callable[[str], None], *, run_jobs: bool = False
    ) -> None:
        self._engine = engine
        self._fire = fire
        self._run_jobs = run_jobs
        self._scheduler: Any = None
        self._lock = threading.Lock()

    def _started(self) -> Any:
        with self._lock:
            if self._scheduler is None:
                from apscheduler.jobstores.memory import MemoryJobStore
                from apscheduler.schedulers.background import BackgroundScheduler

                scheduler = BackgroundScheduler(
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
                    jobs.register(self._fire)
                    # Wake up regularly: jobs written by other processes do not wake us.
                    scheduler.add_job(
                        _noop, "interval", seconds=POLL_SECONDS, id="poll", jobstore="local"
                    )
                scheduler.start(paused=not self._run_jobs)
                self._scheduler = scheduler
            return self._scheduler

    def start(self) -> None:
        self._started()

    def schedule(self, order_id: str, at: datetime) -> None:
        self._started().add_job(
            jobs.JOB_REF,
            "date",
            run_date=at,
            args=[order_id],
            id=job_id(order_id),
            name=f"expire order {order_id}",
            replace_existing=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            coalesce=True,
        )

    def cancel(self, order_id: str) -> None:
        self._started().remove_job(job_id(order_id), jobstore="default")

    def shutdown(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
                self._scheduler = None
                if self._run_jobs:
                    jobs.register(None)


def _shared_job_store(engine: Engine) -> Any:
    """APScheduler's SQLAlchemy job store, for a table several processes write: a job another
    process already removed is not an error (APScheduler's scheduler thread dies on one)."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    class SharedSQLAlchemyJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
        def remove_job(self, job_id: str) -> None:
            delete = self.jobs_t.delete().where(self.jobs_t.c.id == job_id)
            with self.engine.begin() as connection:
                connection.execute(delete)

    return SharedSQLAlchemyJobStore(engine=engine)


def _noop() -> None:
    """The poll job: waking the scheduler is all it is for."""
