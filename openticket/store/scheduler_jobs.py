"""APScheduler's job table, declared here so migrations create it before any scheduler starts
(two processes racing to create it themselves would collide)."""

from sqlalchemy import Column, Float, LargeBinary, Table, Unicode

from openticket.store.db import metadata

apscheduler_jobs = Table(
    "apscheduler_jobs",
    metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
