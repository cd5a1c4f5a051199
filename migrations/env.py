"""Alembic environment: migrates the connection openticket hands over, or `sqlalchemy.url`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from openticket.store.db import create_store_engine
from openticket.store.schema import metadata

config = context.config


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        transactional_ddl=True,  # all or nothing, and one migrating process at a time
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_store_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        conn.execution_options(openticket_write=True)
        _migrate(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
run()
