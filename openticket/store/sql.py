"""SQL expressions the store's queries share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, literal_column


def one_of(column: ColumnElement[str], values: tuple[str, ...]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` with the values written into the statement, for the fixed status
    sets that partial indexes are declared with. Bound parameters hide the values from the
    planner, which then cannot use such an index: SQLite scanned every order to find a
    ticket's live one. The values are the code's own constants, never input."""
    for value in values:
        if not value.replace(":", "").replace("_", "").isalnum():
            raise ValueError(f"not a status constant: {value!r}")
    return column.in_([literal_column(f"'{value}'") for value in values])


def bound(*columns: str) -> dict[str, BindParameter[Any]]:
    """`update(t).values(**bound("a", "b"))`: each column set from the parameter of its name."""
    return {name: bindparam(name) for name in columns}
