"""Identifiers for rows and events.

Time-ordered (the UUIDv7 layout of RFC 9562: 48 bits of Unix milliseconds, then random
bits) rather than uuid4: new rows land at the right edge of every B-tree index that holds an
id, so a batch of inserts dirties a few pages instead of one page per row. That is what
keeps bulk imports and event delivery fast on SQLite and PostgreSQL alike. Ids stay 32
lowercase hex characters; they say when a thing was made, which is public anyway.
"""

from __future__ import annotations

import os
import time

_VARIANT = "89ab"  # the hex digit of the variant bits 10xx, by its two low random bits


def new_id() -> str:
    # String slicing rather than big-integer arithmetic: an import makes two ids per row.
    millis = time.time_ns() // 1_000_000
    rand = os.urandom(10).hex()
    return (
        f"{millis & 0xFFFF_FFFF_FFFF:012x}7{rand[:3]}{_VARIANT[int(rand[3], 16) & 3]}{rand[4:19]}"
    )
