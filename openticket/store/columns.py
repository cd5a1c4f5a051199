"""Column shapes that several domains' tables share, declared once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table
from sqlalchemy.schema import SchemaItem

from openticket.store.db import metadata

ID_LENGTH = 32  # openticket.core.ids: 32 hexadecimal digits


def keyed_table(name: str, *items: SchemaItem) -> Table:
    """A table on the shared metadata whose primary key is an entity's id."""
    return Table(name, metadata, Column("id", String(ID_LENGTH), primary_key=True), *items)


def serial(name: str) -> Column[Any]:
    """A 64-bit counter primary key (SQLite's INTEGER PRIMARY KEY is 64-bit already, and must
    stay INTEGER to be the rowid)."""
    return Column(
        name, BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )


def amount(prefix: str) -> tuple[Column[Any], Column[Any]]:
    """An amount: its minor units (`<prefix>_minor`) and its ISO 4217 `currency`."""
    minor = Column(f"{prefix}_minor", BigInteger, nullable=False)
    return minor, Column("currency", String(3), nullable=False)


def partial_index(
    name: str,
    columns: Column[Any] | tuple[Column[Any], ...],
    statuses: Iterable[str],
    *,
    unique: bool = False,
) -> Index:
    """An index of only the rows of its table whose status is one of `statuses` (a partial
    index on either engine)."""
    columns = columns if isinstance(columns, tuple) else (columns,)
    where = columns[0].table.c.status.in_(tuple(statuses))
    return Index(name, *columns, unique=unique, sqlite_where=where, postgresql_where=where)
