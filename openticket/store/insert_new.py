"""Insert a row unless its key is taken, in one statement: the check-then-insert of a
replica or an inbox row without the check's round trip."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.sql.expression import Executable


def insert_new(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Whether the row was inserted (False: one with the same key exists)."""
    result = conn.execute(_statement(table, conn.dialect.name), values)
    if conn.dialect.name == "sqlite":
        return result.rowcount == 1
    # psycopg through SQLAlchemy reports no row count for ON CONFLICT; the inserted key is
    # returned instead.
    return result.first() is not None


@functools.cache
def _statement(table: Table, dialect: str) -> Executable:
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import postgresql

    key = next(iter(table.primary_key.columns))
    return postgresql.insert(table).on_conflict_do_nothing().returning(key)
