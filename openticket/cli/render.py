"""Output: Rich tables for people, JSON for scripts, from the same objects.

Everything shown is data: the console interprets no markup or emoji codes, and every value
goes through `shown` so that a title cannot drive the terminal either.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from openticket.cli.when import shown_time
from openticket.terminal import shown, shown_lines

if TYPE_CHECKING:
    from pydantic import BaseModel

    from openticket.core.errors import DomainError


def as_data(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, SimpleNamespace):  # the quick path's rows (openticket/quick.py)
        return vars(value)
    if isinstance(value, list | tuple):
        return [as_data(item) for item in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(as_data(value), ensure_ascii=False) + "\n")


# Wide enough for any line: piped output is for other programs, which want whole lines.
PIPE_WIDTH = 100_000


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty() and not os.environ.get("COLUMNS")
    return Console(
        stderr=stderr,
        highlight=False,
        markup=False,
        emoji=False,
        width=PIPE_WIDTH if piped else None,
    )


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table for a terminal; under a pipe, plain lines (`_plain_table`)."""
    cells = [[shown(cell) for cell in row] for row in rows]
    if not sys.stdout.isatty():
        _plain_table(columns, cells)
        return
    from rich.table import Table

    table = Table(title=title and shown(title), title_justify="left")
    for column in columns:
        table.add_column(column, no_wrap=column == "ID", overflow="fold")
    for row in cells:
        table.add_row(*row)
    _console().print(table)


def _plain_table(columns: Sequence[str] | None, rows: Sequence[Sequence[str]]) -> None:
    """A header line (if `columns`), then a line per row, columns aligned by two spaces:
    nothing wrapped or cut (an id stays whole), no trailing spaces, for `cut`, `awk` and
    people alike."""
    from rich.cells import cell_len

    lines = [list(columns), *rows] if columns else [list(row) for row in rows]
    widths = [max(cell_len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        padded = [
            cell + " " * (width - cell_len(cell)) for cell, width in zip(line, widths, strict=True)
        ]
        sys.stdout.write("  ".join(padded).rstrip() + "\n")


def tickets(items: Sequence[BaseModel], *, title: str = "Tickets") -> None:
    if not items:
        _console().print("No tickets.")
        return
    table(
        title,
        ["ID", "Title", "Price", "Status", "Seller"],
        [
            [t.id, t.title, f"{t.price} {t.currency}", t.status, t.seller]  # type: ignore[attr-defined]
            for t in items
        ],
    )


def ticket(item: BaseModel) -> None:
    t: Any = item
    details = [
        ("ID", t.id),
        ("Title", t.title),
        ("Price", f"{t.price} {t.currency}"),
        ("Status", t.status),
        ("Seller", f"{t.seller} ({t.owner_id})"),
        ("Version", str(t.version)),
    ]
    if t.order_id:
        details.append(("Order", t.order_id))
    _details(details)


OPEN_STATUSES = ("created", "awaiting:payment")


def _pay_by(order: Any) -> str:
    """When an open order must be paid by; nothing for one that has ended."""
    return shown_time(order.expires_at) if order.status in OPEN_STATUSES else ""


def orders(items: Sequence[BaseModel]) -> None:
    if not items:
        _console().print("No orders.")
        return
    rows = []
    for item in items:
        o: Any = item
        price = f"{o.ticket.price} {o.ticket.currency}"
        rows.append([o.id, o.ticket.title, price, o.status, _pay_by(o)])
    table("Orders", ["ID", "Ticket", "Price", "Status", "Pay by"], rows)


def order(item: BaseModel) -> None:
    o: Any = item
    details = [
        ("ID", o.id),
        ("Ticket", f"{o.ticket.title} ({o.ticket_id})"),
        ("Price", f"{o.ticket.price} {o.ticket.currency}"),
        ("Status", o.status),
    ]
    if o.status in OPEN_STATUSES:
        details.append(("Pay by", shown_time(o.expires_at)))
    elif o.status == "expired":
        details.append(("Expired", shown_time(o.expires_at)))
    _details(details)


def payment(item: BaseModel) -> None:
    p: Any = item
    _details(
        [
            ("Payment", p.id),
            ("Order", p.order_id),
            ("Amount", f"{p.amount} {p.currency}"),
            ("Status", p.status),
            ("Provider", f"{p.provider} {p.provider_ref or ''}".strip()),
            *([("Authenticate at", p.action_url)] if p.action_url else []),
        ]
    )


def _holding_status(entry: Any) -> str:
    if entry.checked_in_at:
        return "checked in"
    return {"available": "listed for resale", "reserved": "being resold"}.get(
        entry.ticket.status, "held"
    )


def wallet(items: Sequence[BaseModel]) -> None:
    if not items:
        _console().print("You hold no tickets.")
        return
    rows = []
    for item in items:
        e: Any = item
        paid = f"{e.paid} {e.currency}"
        rows.append(
            [e.ticket.id, e.ticket.title, paid, _holding_status(e), shown_time(e.acquired_at)]
        )
    table("Your tickets", ["ID", "Title", "Paid", "Status", "Since"], rows)


def wallet_entry(item: BaseModel, *, qr: bool) -> None:
    e: Any = item
    details = [
        ("Ticket", e.ticket.id),
        ("Title", e.ticket.title),
        ("Paid", f"{e.paid} {e.currency}"),
        ("Status", _holding_status(e)),
        ("Since", shown_time(e.acquired_at)),
    ]
    if e.checked_in_at:
        details.append(("Checked in", shown_time(e.checked_in_at)))
    details.append(("Code", e.code))
    _details(details)
    if qr:
        from openticket.qr_text import qr_lines

        sys.stdout.write("\n".join(qr_lines(e.code)) + "\n")


def transfers(items: Sequence[BaseModel]) -> None:
    if not items:
        _console().print("No transfers.")
        return
    rows = []
    for item in items:
        t: Any = item
        way = f"{t.kind} to {t.other}" if t.role == "from" else f"{t.kind} from {t.other}"
        rows.append([t.ticket_id, t.title, way, f"{t.price} {t.currency}", shown_time(t.at)])
    table("Transfers", ["ID", "Title", "What", "Price", "When"], rows)


def verification(item: BaseModel, age_seconds: float | None) -> None:
    v: Any = item
    details = [("Status", v.status)]
    if v.ticket_id:
        details.append(("Ticket", v.ticket_id))
    if v.title:
        details.append(("Title", v.title))
    if v.checked_in_at:
        details.append(("Checked in", shown_time(v.checked_in_at)))
    if age_seconds is not None:
        details.append(("List", f"offline, synced {int(age_seconds)} s ago"))
    _details(details)


def payouts(items: Sequence[BaseModel]) -> None:
    if not items:
        _console().print("No payouts yet: a sale makes one.")
        return
    rows = []
    for item in items:
        p: Any = item
        when = shown_time(p.release_at) if p.status == "held" else ""
        rows.append([p.order_id, f"{p.gross} {p.currency}", p.fee, p.net, p.status, when])
    table("Payouts", ["Order", "Gross", "Fee", "Net", "Status", "Released from"], rows)


def payout_account(item: BaseModel) -> None:
    a: Any = item
    if not a.onboarded:
        message("No payout account yet: `openticket payouts onboard` makes one.")
        return
    yes_no = {True: "yes", False: "no"}
    details = [
        ("Provider", a.provider),
        ("Account", a.account_id),
        ("Charges enabled", yes_no[a.charges_enabled]),
        ("Payouts enabled", yes_no[a.payouts_enabled]),
    ]
    if a.on_hold:
        details.append(("On hold", "yes: a buyer disputes a charge of one of your sales"))
    if a.onboarding_url:
        details.append(("Finish onboarding", a.onboarding_url))
    _details(details)


def _details(pairs: Sequence[tuple[str, str]]) -> None:
    if not sys.stdout.isatty():
        _plain_table(None, [(key, shown(value)) for key, value in pairs])
        return
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, shown(value))
    _console().print(table)


def answer(value: Any, as_json: bool, text: str) -> None:
    """`value` as JSON for scripts, or `text` for people."""
    if as_json:
        print_json(value)
    else:
        message(text)


def message(text: str) -> None:
    _console().print(shown_lines(text), soft_wrap=True)  # a path or id is never cut


def note(text: str) -> None:
    """Chatter for people goes to stderr so stdout stays clean for pipes."""
    _console(stderr=True).print(shown_lines(text), soft_wrap=True)


def error(err: DomainError, as_json: bool) -> None:
    if as_json:
        body = {"errors": [{"message": i.message, "field": i.field} for i in err.items]}
        sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"Error: {shown_lines(err.message)}\n")


def import_report(report: Any, *, as_json: bool, dry_run: bool, refused: bool) -> None:
    if as_json:
        print_json(report)
        return
    problems = _counted(len(report.errors), "problem")
    if refused:
        them = "it" if len(report.errors) == 1 else "them"
        nothing = "Nothing would be written" if dry_run else "Nothing written"
        message(
            f"{nothing}: {problems} in the file "
            f"(fix {them}, or use --skip-invalid to write the other rows)"
        )
    elif dry_run:
        message(
            f"Would create {report.created}, update {report.updated}, skip {report.skipped}"
            " (dry run: nothing written)"
        )
    else:
        message(f"Created {report.created}, updated {report.updated}, skipped {report.skipped}")
    if report.errors:
        table(
            problems,
            ["Line", "Field", "Problem"],
            [[str(e.line), e.field or "", e.message] for e in report.errors],
        )


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
