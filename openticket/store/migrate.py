"""Schema migrations (Alembic). The first command on a new database applies them; so does
`openticket db upgrade`. A cheap revision check keeps every later start fast."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from openticket.store.db import WRITE_OPTION
from openticket.store.locks import MIGRATION_LOCK_KEY, session_lock
from openticket.store.revision import HEAD_REVISION

__all__ = ["HEAD_REVISION", "current_revision", "ensure_schema", "script_location", "upgrade"]


def script_location() -> str:
    spec = importlib.util.find_spec("openticket.migrations")
    assert spec is not None and spec.origin is not None, "openticket.migrations is not installed"
    return str(Path(spec.origin).parent)


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def upgrade(engine: Engine) -> str | None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", script_location())
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        # Processes started together (a worker per domain) each find the schema behind:
        # they take turns, and the later ones find nothing left to do.
        with session_lock(conn, MIGRATION_LOCK_KEY):
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
    return current_revision(engine)


def ensure_schema(engine: Engine) -> None:
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)
