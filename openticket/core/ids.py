"""Identifiers for rows and events.

Time-ordered (the UUIDv7 layout of RFC 9562: 48 bits of Unix milliseconds, then random
bits) rather than uuid4: new rows land at the right edge of every B-tree index that holds an
id, so a batch of inserts dirties a few pages instead of one page per row. That is what
keeps bulk imports and event delivery fast on SQLite and PostgreSQL alike. Ids stay 32
lowercase hex characters; they say when a thing was made, which is public anyway.
"""

from __future__ import annotations

import os
import re
import time

_VARIANT = "89ab"  # the hex digit of the variant bits 10xx, by its two low random bits
_ID = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    return new_ids(1)[0]


def new_ids(count: int) -> list[str]:
    """`count` ids from one clock reading and one read of random bytes: an import makes two ids
    per row. String slicing rather than big-integer arithmetic, for the same reason. Sorted:
    the listing order is (created_at, id), so an import's rows, which share a transaction's
    time, list in the order of the file."""
    prefix = f"{time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF:012x}7"
    rand = os.urandom(10 * count).hex()
    ids = [
        f"{prefix}{rand[i : i + 3]}{_VARIANT[int(rand[i + 3], 16) & 3]}{rand[i + 4 : i + 19]}"
        for i in range(0, 20 * count, 20)
    ]
    ids.sort()
    return ids


def is_id(text: str) -> bool:
    """Whether `text` can be an id at all: anything else names nothing, and is answered
    without asking the store (where a NUL or an unpaired surrogate would be an error)."""
    return _ID.fullmatch(text) is not None
