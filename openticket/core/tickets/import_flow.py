"""The two passes of an import: validate everything, then write in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from openticket.core import schemas
from openticket.core.tickets import importing
from openticket.core.tickets.importing import CheckedRow, RowProblem, Tally
from openticket.core.tickets.model import ImportRow
from openticket.store.uow import UnitOfWork

BATCH_ROWS = 5000
Progress = Callable[[str, int], None]


def _batches(
    rows: Iterator[ImportRow], currency: str, skip: set[int] | None, found: list[RowProblem]
) -> Iterator[list[CheckedRow]]:
    batch: list[CheckedRow] = []
    for row in rows:
        if skip is not None and row.line in skip:
            continue
        checked = importing.check_row(row, currency)
        if isinstance(checked, list):
            found.extend(checked)
            continue
        batch.append(checked)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def validate(
    uow: UnitOfWork,
    owner_id: str,
    rows: Iterator[ImportRow],
    currency: str,
    progress: Progress,
) -> Tally:
    """Check every row, against the rules and the seller's existing listings; return what a
    write would do."""
    tally = Tally()
    first_line: dict[str, int] = {}
    for batch in _batches(rows, currency, None, tally.problems):
        with uow.read() as tx:
            known = importing.existing_listings(
                tx, owner_id, [r.external_id for r in batch if r.external_id]
            )
        for row in batch:
            if row.external_id:
                if row.external_id in first_line:
                    tally.problems.append(
                        RowProblem(
                            row.line,
                            "external_id",
                            f"external_id {row.external_id!r} is also on line "
                            f"{first_line[row.external_id]}",
                        )
                    )
                    continue
                first_line[row.external_id] = row.line
            plan = importing.plan_row(row, known.get(row.external_id or ""))
            if isinstance(plan, RowProblem):
                tally.problems.append(plan)
            elif plan == "create":
                tally.created += 1
            elif plan == "update":
                tally.updated += 1
            else:
                tally.unchanged += 1
        progress("validated", len(batch))
    return tally


def write(
    uow: UnitOfWork,
    owner_id: str,
    rows: Iterator[ImportRow],
    currency: str,
    skip: set[int],
    progress: Progress,
    after_batch: Callable[[], None],
) -> Tally:
    tally = Tally()
    for batch in _batches(rows, currency, skip, tally.problems):
        with uow.write() as tx:
            importing.write_rows(tx, owner_id, batch, tally)
        after_batch()
        progress("written", len(batch))
    return tally


def report(tally: Tally, skipped_rows: int) -> schemas.ImportReport:
    problems = sorted(tally.problems, key=lambda p: p.line)
    return schemas.ImportReport(
        created=tally.created,
        updated=tally.updated,
        skipped=skipped_rows + tally.unchanged,
        errors=[
            schemas.ImportProblem(line=p.line, field=p.field, message=p.message) for p in problems
        ],
    )
