"""A notification in one line for people: what the CLI prints and the TUI shows (user-typed
text inside is quoted; the caller escapes it for its display)."""

from __future__ import annotations

from typing import Any


def describe(kind: str, news: dict[str, Any]) -> str:
    if kind == "watch:matched":
        ticket = news["ticket"]
        what = f"{ticket['title']!r} listed at {ticket['price']} {ticket['currency']}"
        return f"{what} (ticket {ticket['id']}; your watch {news['search']!r})"
    title = repr(news.get("title", ""))
    if kind == "order:expired":
        return f"Your order {news['order_id']} for {title} expired unpaid"
    if kind == "order:voided":
        order, reason = news["order_id"], news["reason"]
        return f"Your order {order} for {title} was {reason}; any charge is given back"
    if kind == "ticket:sold":
        return f"Sold: {title} (order {news['order_id']})"
    if kind == "payout:updated":
        return f"Payout for {title} (order {news['order_id']}): {news['status']}"
    if kind == "ticket:received":
        return f"You were given {title} (ticket {news['ticket_id']}): it is in your wallet"
    if kind == "waitlist:offered":
        order, ends = news["order_id"], news["expires_at"]
        return f"Your turn: {title} is yours as order {order} until {ends}: pay it to keep it"
    if kind == "waitlist:offer_expired":
        return f"Your offer of {title} (order {news['order_id']}) ended unpaid"
    return kind
