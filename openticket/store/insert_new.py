"""Insert a row unless its key is taken, in one statement: the check-then-insert of a
replica or an inbox row without the check's round trip."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.sql.expression import Executable


def insert_new(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Whether the row was inserted (False: one with the same key exists)."""
    result = conn.execute(_statement(table, conn.dialect.name), values)
    if conn.dialect.name == "sqlite":
        return result.rowcount == 1
    # psycopg through SQLAlchemy reports no row count for ON CONFLICT; the inserted key is
    # returned instead.
    return result.first() is not None


def insert_unless_taken(table: Table, dialect: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING in the dialect's spelling (the store runs on SQLite or
    PostgreSQL: config refuses other databases)."""
    # Imported here: a dialect package costs tens of milliseconds at every CLI start.
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table).on_conflict_do_nothing()


@functools.cache
def _statement(table: Table, dialect: str) -> Executable:
    statement = insert_unless_taken(table, dialect)
    if dialect == "sqlite":
        return statement
    return statement.returning(next(iter(table.primary_key.columns)))
