from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, select, union_all, update

from openticket.core.money import Money
from openticket.core.notify.model import Notification, OrderParties, Watch, folded
from openticket.core.notify.tables import (
    notifications,
    order_parties,
    readers,
    watch_hits,
    watches,
)
from openticket.core.ports import Transaction
from openticket.store.bulk import insert_many
from openticket.store.insert_new import insert_new
from openticket.store.locks import key_of, lock_key
from openticket.store.rows import Reader
from openticket.store.uow import connection

_WATCHES_OF = (
    select(watches)
    .where(watches.c.user_id == bindparam("user_id"))
    .order_by(watches.c.created_at, watches.c.id)
)
_STREAM = (
    select(notifications)
    .where(
        notifications.c.user_id == bindparam("user_id"),
        notifications.c.number > bindparam("after"),
    )
    .order_by(notifications.c.number)
)


_parties = Reader(OrderParties)


def _watch(row: Any) -> Watch:
    limit = None if row.max_price_minor is None else Money(row.max_price_minor, row.currency)
    return Watch(row.id, row.user_id, row.search, limit, row.currency, row.created_at)


def add_watch(tx: Transaction, watch: Watch) -> None:
    connection(tx).execute(
        watches.insert().values(
            id=watch.id,
            user_id=watch.user_id,
            search=watch.search,
            search_folded=folded(watch.search),
            max_price_minor=None if watch.max_price is None else watch.max_price.minor,
            currency=watch.currency,
            created_at=watch.created_at,
        )
    )


def watches_of(tx: Transaction, user_id: str) -> list[Watch]:
    return [_watch(row) for row in connection(tx).execute(_WATCHES_OF, {"user_id": user_id})]


def count_watches(tx: Transaction, user_id: str) -> int:
    query = select(func.count()).select_from(watches).where(watches.c.user_id == user_id)
    return int(connection(tx).execute(query).scalar_one())


# Titles per statement, each a SELECT of a UNION ALL: SQLite takes at most 500 of those.
TITLES_PER_QUERY = 200


def watches_in_titles(tx: Transaction, titles: list[str]) -> list[list[Watch]]:
    """For each title, the watches whose search it holds (both case folded), in (user, id)
    order: the database compares, so a new listing does not load every watch there is.
    Watch.matches still decides (price, currency, the seller's own)."""
    found: list[list[Watch]] = [[] for _ in titles]
    conn = connection(tx)
    position = func.instr if conn.dialect.name == "sqlite" else func.strpos  # 0: not in it
    for start in range(0, len(titles), TITLES_PER_QUERY):
        chunk = titles[start : start + TITLES_PER_QUERY]
        listed = union_all(
            *(
                select(literal(n).label("n"), literal(folded(title)).label("title"))
                for n, title in enumerate(chunk, start)
            )
        ).subquery("listed")
        query = (
            select(listed.c.n, watches)
            .join(listed, position(listed.c.title, watches.c.search_folded) > 0)
            .order_by(listed.c.n, watches.c.user_id, watches.c.id)
        )
        for row in conn.execute(query):
            found[row.n].append(_watch(row))
    return found


def remove_watch(tx: Transaction, user_id: str, watch_id: str) -> bool:
    conn = connection(tx)
    done = conn.execute(
        delete(watches).where(watches.c.id == watch_id, watches.c.user_id == user_id)
    )
    if done.rowcount:
        conn.execute(delete(watch_hits).where(watch_hits.c.watch_id == watch_id))
    return bool(done.rowcount)


def first_hit(tx: Transaction, watch_id: str, ticket_id: str, round_: int) -> bool:
    """Record that the watch announced this listing; False if it had already."""
    values = {"watch_id": watch_id, "ticket_id": ticket_id, "round": round_}
    return insert_new(connection(tx), watch_hits, values)


def lock_user(tx: Transaction, user_id: str) -> None:
    """One writer at a time per user's stream and watches, until the transaction ends: on
    PostgreSQL a user's notifications then commit in the order of their numbers (a reader
    paging by number skips none), and the cap on watches holds under concurrent adds."""
    lock_key(connection(tx), key_of("notify-user", user_id))


def add_notification(
    tx: Transaction,
    notification_id: str,
    user_id: str,
    kind: str,
    data: dict[str, Any],
    source: str,
) -> bool:
    """Add to the user's stream; False if this source (an event) gave them one already."""
    lock_user(tx, user_id)  # the next number is this one's until the transaction ends
    values = {
        "id": notification_id,
        "user_id": user_id,
        "number": latest_seq(tx, user_id) + 1,
        "kind": kind,
        "data": json.dumps(data, separators=(",", ":")),
        "source": source,
        "created_at": tx.now,
    }
    return insert_new(connection(tx), notifications, values)


def stream(tx: Transaction, user_id: str, after: int, limit: int) -> list[Notification]:
    rows = connection(tx).execute(_STREAM.limit(limit), {"user_id": user_id, "after": after})
    return [
        Notification(
            row.number, row.id, row.user_id, row.kind, json.loads(row.data), row.created_at
        )
        for row in rows
    ]


def record_parties(
    tx: Transaction, order_id: str, buyer_id: str, seller_id: str | None, ticket_id: str, title: str
) -> None:
    values = {
        "id": order_id,
        "buyer_id": buyer_id,
        "seller_id": seller_id,
        "ticket_id": ticket_id,
        "title": title,
    }
    insert_new(connection(tx), order_parties, values)


PARTY_COLUMNS = ("id", "buyer_id", "seller_id", "ticket_id", "title")


def record_many_parties(tx: Transaction, rows: list[tuple[str, str, str | None, str, str]]) -> None:
    """record_parties for many orders (PARTY_COLUMNS each) in one statement; those heard of
    before are left as they are."""
    insert_many(connection(tx), order_parties, PARTY_COLUMNS, rows, skip_existing=True)


def parties(tx: Transaction, order_id: str) -> OrderParties | None:
    """The order's buyer, seller and ticket; None before its creation was heard of."""
    query = select(order_parties).where(order_parties.c.id == order_id)
    return _parties.first(connection(tx).execute(query))


def latest_seq(tx: Transaction, user_id: str) -> int:
    query = select(func.max(notifications.c.number)).where(notifications.c.user_id == user_id)
    found: int | None = connection(tx).execute(query).scalar()
    return found or 0


def seen(tx: Transaction, user_id: str) -> int:
    query = select(readers.c.seen_seq).where(readers.c.user_id == user_id)
    found: int | None = connection(tx).execute(query).scalar()
    return found or 0


def save_seen(tx: Transaction, user_id: str, seq: int) -> None:
    conn = connection(tx)
    done = conn.execute(update(readers).where(readers.c.user_id == user_id).values(seen_seq=seq))
    if not done.rowcount:
        insert_new(conn, readers, {"user_id": user_id, "seen_seq": seq})


def count_after(tx: Transaction, user_id: str, after: int) -> int:
    query = (
        select(func.count())
        .select_from(notifications)
        .where(notifications.c.user_id == user_id, notifications.c.number > after)
    )
    return int(connection(tx).execute(query).scalar_one())
