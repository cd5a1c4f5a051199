"""Batch import of listings: rows are checked with the same rules as `tickets create`, the
whole file before anything is written, and a seller's `external_id` makes re-runs update
instead of duplicate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from openticket.core import events
from openticket.core.errors import InvalidInput
from openticket.core.ids import is_id, new_ids
from openticket.core.money import Money
from openticket.core.ports import Transaction
from openticket.core.tickets import repository
from openticket.core.tickets.model import RESERVED, SOLD, ImportRow, Ticket
from openticket.core.tickets.service import event_data, new_listing, parse_listing

EXTERNAL_ID_MAX = 200


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str | None
    message: str
    item: int | None = None  # the row's place in a JSON array

    @property
    def row(self) -> tuple[int, int | None]:
        return self.line, self.item


@dataclass(slots=True)  # not frozen: one per row of a file, and frozen costs per field
class CheckedRow:
    line: int
    title: str
    price: Money
    external_id: str | None
    item: int | None = None


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)


# Fields that may come as JSON numbers (a price, a seller's numeric id); the others are text.
_NUMBERS_ALLOWED = ("price", "external_id")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _type_problems(row: ImportRow) -> list[RowProblem]:
    """Values of the wrong JSON type (a list as a title, true as a price) are refused, not
    turned into text such as "['x']" or "True"."""
    problems = []
    for name in ("title", "price", "currency", "external_id"):
        value = getattr(row, name)
        if value is None or isinstance(value, str):
            continue
        if (
            name in _NUMBERS_ALLOWED
            and isinstance(value, int | float)
            and not isinstance(value, bool)
        ):
            continue
        kind = "text or a number" if name in _NUMBERS_ALLOWED else "text"
        problems.append(RowProblem(row.line, name, f"{name} must be {kind}", row.item))
    return problems


def check_row(row: ImportRow, default_currency: str) -> CheckedRow | list[RowProblem]:
    """The row as a listing, or every problem with it (store-independent rules)."""
    if row.problem is not None:
        return [RowProblem(row.line, row.problem_field, row.problem, row.item)]
    if problems := _type_problems(row):
        return problems
    problems = []
    currency = _text(row.currency) or default_currency
    external_id = _text(row.external_id)
    if external_id is not None and (
        len(external_id) > EXTERNAL_ID_MAX or not external_id.isprintable()
    ):
        problems.append(
            RowProblem(
                row.line,
                "external_id",
                f"external_id must be at most {EXTERNAL_ID_MAX} printable characters",
                row.item,
            )
        )
        external_id = None
    try:
        title, price = parse_listing(
            None if row.title is None else str(row.title),
            None if row.price is None else str(row.price),
            currency,
        )
    except InvalidInput as error:
        problems += [RowProblem(row.line, e.field, e.message, row.item) for e in error.items]
    if problems:
        return problems
    return CheckedRow(row.line, title, price, external_id, row.item)


def existing_listings(
    tx: Transaction, owner_id: str, external_ids: Iterable[str], *, lock: bool = False
) -> dict[str, Ticket]:
    """The seller's listings these rows name: by their external id, or, for a row that an
    export wrote from a listing without one, by the ticket's own id (so that importing an
    export back changes nothing). `lock`: held until the import commits."""
    wanted = list(external_ids)
    found = repository.by_external_ids(tx, owner_id, wanted, lock=lock)
    unmatched = [key for key in wanted if key not in found and is_id(key)]
    if unmatched:
        found.update(repository.unnamed_by_ids(tx, owner_id, unmatched, lock=lock))
    return found


def plan_row(row: CheckedRow, existing: Ticket | None) -> str | RowProblem:
    """'create', 'update', 'unchanged', or why the row cannot be applied."""
    if existing is None:
        return "create"
    if existing.title == row.title and existing.price == row.price:
        return "unchanged"  # a sold or reserved listing too: the file says what it is
    if existing.status == RESERVED:
        return RowProblem(row.line, "external_id", "Cannot update a reserved ticket", row.item)
    if existing.status == SOLD:
        return RowProblem(row.line, "external_id", "Cannot update a sold ticket", row.item)
    return "update"


def write_rows(tx: Transaction, owner_id: str, rows: list[CheckedRow], tally: Tally) -> None:
    """Write one batch; rows are re-planned against the store inside this transaction. New
    listings are the same tickets and `ticket:created` events as `tickets create` makes,
    written with one statement each for the batch."""
    # A seller's imports take turns: a new external id has no row to lock yet, and two at
    # once would both create it (the second failing on the unique index).
    repository.lock_imports(tx, owner_id)
    named = [r.external_id for r in rows if r.external_id]
    known = existing_listings(tx, owner_id, named, lock=True)
    new: list[CheckedRow] = []
    for row in rows:
        current = known.get(row.external_id) if row.external_id else None
        plan = plan_row(row, current)
        if isinstance(plan, RowProblem):
            tally.problems.append(plan)
        elif plan == "unchanged":
            tally.unchanged += 1
        elif plan == "update":
            assert current is not None
            updated = current.edited(row.title, row.price)
            repository.save(tx, updated, tx.now)
            tx.emit(events.TICKET_UPDATED, event_data(updated))
            tally.updated += 1
        else:
            new.append(row)
    ids = new_ids(len(new))
    listings = [
        new_listing(owner_id, row.title, row.price, row.external_id, ticket_id)
        for row, ticket_id in zip(new, ids, strict=True)
    ]
    tally.created += len(listings)
    repository.add_many(tx, listings, tx.now)
    tx.emit_many(events.TICKET_CREATED, [event_data(ticket) for ticket in listings])
