"""Many-row statements without SQLAlchemy's per-row processing.

`conn.execute(insert(table), rows)` builds and type-processes a parameter dict per row, which
is most of the time of a 5,000-row batch (bench/import.py). Here the statement is compiled
once per table and dialect, each column's bind processor is looked up once, and a value seen
in the previous row (every row of a batch shares the transaction's timestamp) is processed
once; the driver's executemany gets plain tuples or dicts.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, bindparam, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import Executable

from openticket.store.insert_new import insert_unless_taken

_POSITIONAL = {"qmark", "numeric", "format"}


@functools.cache
def _compiled(
    table: Table, dialect: Dialect, keys: tuple[str, ...], skip_existing: bool
) -> tuple[str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...]]:
    statement = insert_unless_taken(table, dialect.name) if skip_existing else insert(table)
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    names = tuple(compiled.positiontup or compiled.binds)
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    return str(compiled), names, processors


def insert_many(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    skip_existing: bool = False,
) -> None:
    """Insert `rows` (tuples of values for `columns`; other columns take their defaults) with
    one executemany; with `skip_existing`, a row whose key is taken is left out (replicas that
    may have seen some of the rows already)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _insert_arrays(conn, table, columns, rows, skip_existing)
        return
    sql, names, processors = _compiled(table, conn.dialect, columns, skip_existing)
    by_column = dict(zip(columns, zip(*rows, strict=True), strict=True))
    values = [
        by_column[name] if process is None else _processed(by_column[name], process)
        for name, process in zip(names, processors, strict=True)
    ]
    tuples = list(zip(*values, strict=True))
    if conn.dialect.paramstyle in _POSITIONAL:
        conn.exec_driver_sql(sql, tuples)
    else:
        conn.exec_driver_sql(sql, [dict(zip(names, row, strict=True)) for row in tuples])


@functools.cache
def _unnest_insert(
    table: Table, dialect: Dialect, columns: tuple[str, ...], skip_existing: bool
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    types = [table.c[name].type.dialect_impl(dialect) for name in columns]
    arrays = _typed_arrays(types, dialect)
    quote = dialect.identifier_preparer
    names = ", ".join(quote.quote(name) for name in columns)
    sql = f"INSERT INTO {quote.format_table(table)} ({names}) SELECT * FROM unnest({arrays})"
    if skip_existing:
        sql += " ON CONFLICT DO NOTHING"
    return sql, tuple(t.bind_processor(dialect) for t in types)


def _typed_arrays(types: list[Any], dialect: Dialect) -> str:
    """One array parameter per column, cast to its column's type without its length (an
    explicit cast to VARCHAR(32) cuts a longer string short, where the insert's own
    conversion refuses it). Binary (`%b`):
    psycopg writes a text array in Python, quoting and escaping each element with a regular
    expression, about 2 ms for 30 outbox rows against 0.08 ms in binary."""
    return ", ".join(f"%b::{_unsized(t.compile(dialect=dialect))}[]" for t in types)


def _unsized(type_name: str) -> str:
    return re.sub(r"\(\d+(,\s*\d+)?\)", "", type_name)


def _insert_arrays(
    conn: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    skip_existing: bool,
) -> None:
    """PostgreSQL: the rows as one array per column, in one statement whatever their number
    (an executemany runs a statement per row: most of what a consumer's batch asked of the
    database was those, and their round trips' share of the driver's time)."""
    sql, processors = _unnest_insert(table, conn.dialect, columns, skip_existing)
    conn.exec_driver_sql(sql, _column_arrays(rows, processors))


def update_many(
    conn: Connection,
    table: Table,
    match: tuple[str, ...],
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> int:
    """Set `columns` of the row each of `rows` finds (a tuple of values for `match`, then
    for `columns`): the row whose `match` columns equal those values (its key, and maybe the
    version it must still have). How many rows were changed. A row is to be found once: give
    a row's last values, once. PostgreSQL: one `UPDATE … FROM unnest(…)` whatever their number
    (psycopg's `executemany` sends a statement per row: the largest share of a tickets or
    orders worker's batch); elsewhere an `executemany`."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        sql, processors = _unnest_update(table, conn.dialect, match, columns)
        return int(conn.exec_driver_sql(sql, _column_arrays(rows, processors)).rowcount)
    statement = _update_by(table, match, columns)
    keys = tuple(f"b_{name}" for name in match) + columns
    params = [dict(zip(keys, row, strict=True)) for row in rows]
    return int(conn.execute(statement, params).rowcount)


@functools.cache
def _update_by(table: Table, match: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    where = and_(*(table.c[name] == bindparam(f"b_{name}") for name in match))
    return update(table).where(where).values({name: bindparam(name) for name in columns})


@functools.cache
def _unnest_update(
    table: Table, dialect: Dialect, match: tuple[str, ...], columns: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    names = match + columns
    types = [table.c[name].type.dialect_impl(dialect) for name in names]
    arrays = _typed_arrays(types, dialect)
    quote = dialect.identifier_preparer
    given = [f"v_{n}" for n in range(len(names))]
    sets = ", ".join(
        f"{quote.quote(name)} = v.{given[len(match) + n]}" for n, name in enumerate(columns)
    )
    where = " AND ".join(f"t.{quote.quote(name)} = v.{given[n]}" for n, name in enumerate(match))
    sql = (
        f"UPDATE {quote.format_table(table)} AS t SET {sets} "
        f"FROM unnest({arrays}) AS v({', '.join(given)}) WHERE {where}"
    )
    return sql, tuple(t.bind_processor(dialect) for t in types)


def _column_arrays(
    rows: Sequence[tuple[Any, ...]], processors: tuple[Callable[[Any], Any] | None, ...]
) -> tuple[list[Any], ...]:
    """The rows as one list per column, each value as the column's type gives it the driver."""
    return tuple(
        list(values) if process is None else _processed(values, process)
        for values, process in zip(zip(*rows, strict=True), processors, strict=True)
    )


def insert_new_many(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> set[Any]:
    """`insert_many` of the rows whose key (the first column, the table's primary key) is not
    taken yet; the keys of those inserted. A replica's or an inbox's batch insert that must
    know what it has not seen before."""
    if not rows:
        return set()
    taken: set[Any] = set()
    for chunk in key_chunks([row[0] for row in rows]):
        taken.update(conn.execute(_taken_keys(table, columns[0]), {"keys": chunk}).scalars())
    new = [row for row in rows if row[0] not in taken]
    insert_many(conn, table, columns, new, skip_existing=True)
    return {row[0] for row in new}


KEYS_PER_QUERY = 500


def key_chunks(keys: Sequence[Any]) -> Iterator[list[Any]]:
    """`keys` in lists of at most KEYS_PER_QUERY, for `IN (…)` lookups of any length (SQLite
    limits a statement's parameters)."""
    for start in range(0, len(keys), KEYS_PER_QUERY):
        yield list(keys[start : start + KEYS_PER_QUERY])


def rows_by_keys(
    conn: Connection, statement: Executable, keys_param: str, keys: Sequence[Any], **params: Any
) -> Iterator[Any]:
    """The rows of `statement` (an expanding `IN :keys_param` lookup) for every key, however
    many, a chunk of keys per query."""
    for chunk in key_chunks(keys):
        yield from conn.execute(statement, {keys_param: chunk, **params})


@functools.cache
def _taken_keys(table: Table, key: str) -> Select[Any]:
    column = table.c[key]
    return select(column).where(column.in_(bindparam("keys", expanding=True)))


def _processed(values: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    out: list[Any] = []
    last_in: Any = object()
    last_out: Any = None
    for value in values:
        if value is not last_in:
            last_in, last_out = value, process(value)
        out.append(last_out)
    return out


@functools.cache
def _compiled_select(statement: Select[Any], dialect: Dialect) -> SQLCompiler:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


def fetch_plain(
    conn: Connection, statement: Select[Any], params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """The rows of a statement whose columns and parameters need no type processing (integers
    and strings), as the driver returns them: for reads of thousands of rows a pass."""
    compiled = _compiled_select(statement, conn.dialect)
    values = compiled.construct_params(params) or {}
    bound: Any = values
    if conn.dialect.paramstyle in _POSITIONAL:
        bound = tuple(values[name] for name in compiled.positiontup or ())
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), bound)
        return list(cursor.fetchall())
    finally:
        cursor.close()
