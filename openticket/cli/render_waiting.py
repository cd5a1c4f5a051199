"""Tables of what a user waits for and is sent: saved searches, waitlists, webhooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from openticket.cli import render
from openticket.cli.when import shown_time

if TYPE_CHECKING:
    from pydantic import BaseModel


def watches(items: Sequence[BaseModel]) -> None:
    if not items:
        render.message("No watches yet: `openticket watch add --search TEXT` makes one.")
        return
    rows = []
    for item in items:
        w: Any = item
        limit = f"{w.max_price} {w.currency}" if w.max_price else (w.currency or "any")
        rows.append([w.id, w.search, limit, shown_time(w.created_at)])
    render.table("Watches", ["Id", "Search", "At most", "Since"], rows)


def _waitlist_status(entry: Any) -> str:
    if entry.status == "waiting":
        return f"waiting, place {entry.place}"
    if entry.status == "offered":
        ends = shown_time(entry.offer_expires_at) if entry.offer_expires_at else ""
        return f"offered: pay order {entry.order_id} by {ends}"
    return str(entry.status)


def waitlist(items: Sequence[BaseModel]) -> None:
    if not items:
        render.message("No waitlists: `openticket waitlist join TICKET_ID` joins a line.")
        return
    rows = []
    for item in items:
        e: Any = item
        rows.append([e.ticket_id, e.title, _waitlist_status(e), shown_time(e.joined_at)])
    render.table("Waitlists", ["Ticket", "Title", "Status", "Joined"], rows)


def webhooks(items: Sequence[BaseModel]) -> None:
    if not items:
        render.message("No webhooks yet: `openticket webhooks add URL` makes one.")
        return
    rows = []
    for item in items:
        w: Any = item
        status = w.status if w.status_reason is None else f"{w.status}: {w.status_reason}"
        rows.append([w.id, w.url, ", ".join(w.events), status, shown_time(w.created_at)])
    render.table("Webhooks", ["Id", "URL", "Events", "Status", "Since"], rows)


def deliveries(items: Sequence[BaseModel]) -> None:
    if not items:
        render.message("No deliveries yet.")
        return
    rows = []
    for item in items:
        d: Any = item
        last = d.last_error or ("" if d.last_status is None else str(d.last_status))
        when = shown_time(d.next_attempt_at) if d.next_attempt_at else ""
        rows.append([d.id, d.kind, d.status, str(d.attempts), last, when, shown_time(d.created_at)])
    columns = ["Id", "Kind", "Status", "Attempts", "Last answer", "Next attempt", "Made"]
    render.table("Deliveries", columns, rows)
