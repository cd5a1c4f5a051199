"""Rows to entities: an entity's fields are its table's columns, except that a Money field
`x` is the two columns `x_minor` and `currency` (see store.columns.amount)."""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Result

from openticket.core.money import Money

T = TypeVar("T")


def _field_names(cls: type) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [field.name for field in dataclasses.fields(cls)]
    return list(cls._fields)  # type: ignore[attr-defined]  # a NamedTuple


def _money_reader(name: str) -> Callable[[Any], Money]:
    minor = operator.attrgetter(f"{name}_minor")
    return lambda row: Money(minor(row), row.currency)


class Reader(Generic[T]):
    """Builds a `cls` (a dataclass or a NamedTuple) from a row of its table."""

    def __init__(self, cls: type[T]) -> None:
        hints = typing.get_type_hints(cls)
        self._cls = cls
        self._getters = [
            _money_reader(name) if hints[name] is Money else operator.attrgetter(name)
            for name in _field_names(cls)
        ]

    def __call__(self, row: Any) -> T:
        return self._cls(*[get(row) for get in self._getters])

    def first(self, result: Result[Any]) -> T | None:
        """The entity of the result's first row; None when it has none."""
        row = result.first()
        return None if row is None else self(row)
