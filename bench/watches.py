"""Finding the watches new listings match: the database picks them (repository.watches_in_titles),
next to the baseline measured in the same run, every watch loaded and compared in Python (what
the notify worker did before migration 0015).

    python bench/watches.py [--watches 20000] [--listings 64] [--url URL]

A fresh SQLite file unless `--url` names an empty database (e.g. PostgreSQL). Searches are
words drawn from a vocabulary of 2,000 (word0 … word1999), titles three such words: as word1
is in word1xx, a listing matches about 90 of 20,000 watches.
"""

from __future__ import annotations

import sys

# bench/http.py shadows the standard library's `http` package for scripts run from here.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from openticket.core.ids import new_id
from openticket.core.money import Money
from openticket.core.notify import repository
from openticket.core.notify.model import Listing, folded
from openticket.core.notify.tables import watches
from openticket.store.db import create_store_engine
from openticket.store.migrate import ensure_schema
from openticket.store.uow import Tx, UnitOfWork

VOCABULARY = [f"word{n}" for n in range(2000)]
ROUNDS = 5


def _fill(uow: UnitOfWork, count: int, rng: random.Random) -> None:
    now = datetime.now(UTC)
    rows = [
        {
            "id": new_id(),
            "user_id": f"user{n % 5000:028}",
            "search": (search := rng.choice(VOCABULARY).capitalize()),
            "search_folded": folded(search),
            "max_price_minor": None,
            "currency": None,
            "created_at": now,
        }
        for n in range(count)
    ]
    with uow.write() as tx:
        for start in range(0, len(rows), 5000):
            tx.conn.execute(insert(watches), rows[start : start + 5000])


def _listings(count: int, rng: random.Random) -> list[Listing]:
    return [
        Listing(new_id(), 0, " ".join(rng.sample(VOCABULARY, 3)), Money(1000, "USD"), "s", True)
        for _ in range(count)
    ]


def _by_the_database(tx: Tx, listings: list[Listing]) -> int:
    found = repository.watches_in_titles(tx, [listing.title for listing in listings])
    return sum(
        watch.matches(listing)
        for listing, candidates in zip(listings, found, strict=True)
        for watch in candidates
    )


def _every_watch_in_python(tx: Tx, listings: list[Listing]) -> int:
    every = [
        repository._watch(row)
        for row in tx.conn.execute(select(watches).order_by(watches.c.user_id, watches.c.id))
    ]
    return sum(watch.matches(listing) for listing in listings for watch in every)


def _best_of(
    uow: UnitOfWork, find: Callable[[Tx, list[Listing]], int], listings: list[Listing]
) -> tuple[float, int]:
    best, matched = float("inf"), 0
    for _ in range(ROUNDS):
        with uow.read() as tx:
            started = time.perf_counter()
            matched = find(tx, listings)
            best = min(best, time.perf_counter() - started)
    return best, matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=20_000)
    parser.add_argument("--listings", type=int, default=64)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{Path(scratch) / 'watches.db'}"
        engine = create_store_engine(url)
        ensure_schema(engine)
        uow = UnitOfWork(engine, lambda: datetime.now(UTC))
        _fill(uow, args.watches, rng)
        listings = _listings(args.listings, rng)
        found, matched = _best_of(uow, _by_the_database, listings)
        baseline, expected = _best_of(uow, _every_watch_in_python, listings)
        engine.dispose()
    assert matched == expected, (matched, expected)
    print(f"store                   : {engine.dialect.name}")
    print(f"watches, listings       : {args.watches}, {args.listings} ({matched} matches)")
    print(f"by the database (ms)    : {found * 1000:9.1f}  (best of {ROUNDS})")
    print(f"every watch, Python (ms): {baseline * 1000:9.1f}  (baseline, the same run)")
    print(f"ratio to the baseline   : {found / baseline:9.3f}")


if __name__ == "__main__":
    main()
