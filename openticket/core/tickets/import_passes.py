"""The two passes of an import: validate everything, then write in batches.

The input is read once. The validating pass keeps the rows that passed, already checked, in
a spool file (one marshal record per batch), and the writing pass reads them back from it:
memory stays at one batch whatever the file size, and the writing pass neither re-parses
nor re-checks.
"""

from __future__ import annotations

import marshal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from openticket.core import faults
from openticket.core.money import Money
from openticket.core.ports import Transaction, UnitOfWork
from openticket.core.tickets import import_rules
from openticket.core.tickets.import_rules import CheckedRow, RowProblem, Tally
from openticket.core.tickets.model import ImportRow

BATCH_ROWS = 10_000
Progress = Callable[[str, int], None]


class CheckedSpool:
    """Checked rows on disk, written and read back a batch at a time."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def append(self, batch: list[CheckedRow]) -> None:
        if batch:
            records = [
                (r.line, r.title, r.price.minor, r.price.currency, r.external_id, r.item)
                for r in batch
            ]
            marshal.dump(records, self._handle)

    def batches(self) -> Iterator[list[CheckedRow]]:
        self._handle.seek(0)
        while True:
            try:
                records = marshal.load(self._handle)
            except EOFError:
                return
            prices: dict[tuple[int, str], Money] = {}  # one Money per distinct price
            yield [
                CheckedRow(
                    line,
                    title,
                    prices.get((minor, currency))
                    or prices.setdefault((minor, currency), Money(minor, currency)),
                    external_id,
                    item,
                )
                for line, title, minor, currency, external_id, item in records
            ]


@contextmanager
def checked_spool() -> Iterator[CheckedSpool]:
    with tempfile.TemporaryFile(prefix="openticket-import-") as handle:
        yield CheckedSpool(handle)


def _batches(
    rows: Iterator[ImportRow], currency: str, found: list[RowProblem]
) -> Iterator[list[CheckedRow]]:
    batch: list[CheckedRow] = []
    for row in rows:
        checked = import_rules.check_row(row, currency)
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
    spool: CheckedSpool,
) -> Tally:
    """Check every row, against the rules and the seller's existing listings; return what a
    write would do, and spool the rows that can be written."""
    tally = Tally()
    first_seen: dict[str, str] = {}  # external id: the line (or item) it is first on
    for batch in _batches(rows, currency, tally.problems):
        with uow.read() as tx:
            known = import_rules.existing_listings(
                tx, owner_id, [r.external_id for r in batch if r.external_id]
            )
        good: list[CheckedRow] = []
        for row in batch:
            if row.external_id:
                if row.external_id in first_seen:
                    tally.problems.append(
                        RowProblem(
                            row.line,
                            "external_id",
                            f"external_id {row.external_id!r} is also on "
                            f"{first_seen[row.external_id]}",
                            row.item,
                        )
                    )
                    continue
                first_seen[row.external_id] = (
                    f"item {row.item}" if row.item is not None else f"line {row.line}"
                )
            plan = import_rules.plan_row(row, known.get(row.external_id or ""))
            if isinstance(plan, RowProblem):
                tally.problems.append(plan)
                continue
            good.append(row)
            if plan == "create":
                tally.created += 1
            elif plan == "update":
                tally.updated += 1
            else:
                tally.unchanged += 1
        spool.append(good)
        progress("validated", len(batch))
    return tally


def write(uow: UnitOfWork, owner_id: str, spool: CheckedSpool, progress: Progress) -> Tally:
    """Write the spooled rows in one transaction, so an import is all or nothing whatever
    fails, a crash included; each batch is planned again inside it, so a listing reserved
    since validation is reported, not overwritten."""

    def write_all(tx: Transaction) -> Tally:
        tally = Tally()
        for batch in spool.batches():
            import_rules.write_rows(tx, owner_id, batch, tally)
            faults.point("import:batch-written")
            progress("written", len(batch))
        return tally

    return uow.transact(write_all)


def run(
    uow: UnitOfWork,
    owner_id: str,
    rows: Iterator[ImportRow],
    currency: str,
    progress: Progress,
    dry_run: bool,
    skip_invalid: bool,
) -> tuple[Tally, int, bool]:
    """Validate every row, then write unless this is a dry run or (without `skip_invalid`)
    some row is bad: all or nothing. (The tally, the bad rows, whether anything was written.)"""
    with checked_spool() as spool:
        planned = validate(uow, owner_id, rows, currency, progress, spool)
        bad_lines = {problem.row for problem in planned.problems}
        if dry_run or (bad_lines and not skip_invalid):
            if not dry_run:  # every row was skipped
                planned.unchanged += planned.created + planned.updated
                planned.created = planned.updated = 0
            return planned, len(bad_lines), False
        written = write(uow, owner_id, spool, progress)
    faults.point("import:committed")
    written.problems = planned.problems + written.problems
    return written, len(bad_lines), True
