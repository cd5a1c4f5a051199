"""Writers for `tickets export`, in the forms `tickets import` reads back."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from typing import Any

COLUMNS = ("title", "price", "currency", "external_id")


def write(rows: Iterable[Any], fmt: str) -> int:
    out = sys.stdout
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([getattr(row, name) for name in COLUMNS])
            count += 1
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row.model_dump(), ensure_ascii=False) + "\n")
            count += 1
    else:
        out.write("[")
        for row in rows:
            out.write(
                ("\n" if count == 0 else ",\n") + json.dumps(row.model_dump(), ensure_ascii=False)
            )
            count += 1
        out.write("\n]\n" if count else "]\n")
    return count
