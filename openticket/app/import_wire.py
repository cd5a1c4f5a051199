"""Import rows on the wire: `tickets import --server` streams the rows the CLI read (one JSON
object per line, with the file's line numbers) and the server reads them back one at a time,
so neither side holds the file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import IO, Any

from openticket.core.errors import InvalidInput
from openticket.core.tickets.model import ImportRow

MEDIA_TYPE = "application/x-ndjson"
MAX_LINE_BYTES = 4 << 20
_FIELDS = ("title", "price", "currency", "external_id", "problem", "problem_field")
_VALUE = {"type": ["string", "number", "null"]}
ROWS_SCHEMA = {
    "description": "One JSON object per line (the rows of the seller's file, with its line "
    "numbers); the same rules as `tickets import` apply to each.",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["line"],
        "properties": {
            "line": {"type": "integer", "minimum": 1},
            "title": _VALUE,
            "price": _VALUE,
            "currency": _VALUE,
            "external_id": _VALUE,
            "item": {"type": "integer", "minimum": 1},
        },
    },
}


def encode(rows: Iterable[ImportRow], per_chunk: int = 1000) -> Iterator[bytes]:
    chunk: list[str] = []
    for row in rows:
        record = {key: value for key, value in asdict(row).items() if value is not None}
        chunk.append(json.dumps(record, ensure_ascii=False))
        if len(chunk) >= per_chunk:
            yield ("\n".join(chunk) + "\n").encode()
            chunk = []
    if chunk:
        yield ("\n".join(chunk) + "\n").encode()


LINE_MAX = 2**63 - 1


def _object(raw: bytes) -> dict[str, Any]:
    """One JSON object, or ValueError saying (in our words, not Python's) why not."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError("longer than 4 MiB")
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON (column {error.colno})") from None
    except (ValueError, RecursionError):  # not UTF-8; 10,000-digit numbers; deep nesting
        raise ValueError("not valid JSON text") from None
    if not isinstance(record, dict):
        raise ValueError("not one JSON object")
    return record


def decode(handle: IO[bytes]) -> Iterator[ImportRow]:
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if not raw.strip():
            continue
        try:
            record = _object(raw)
            line = record.get("line")
            if not isinstance(line, int) or isinstance(line, bool) or not 0 < line <= LINE_MAX:
                raise ValueError("no line number")
            problem, problem_field = record.get("problem"), record.get("problem_field")
            if not isinstance(problem, str | None) or not isinstance(problem_field, str | None):
                raise ValueError("a problem must be text")
            item = record.get("item")
            if item is not None and (
                not isinstance(item, int) or isinstance(item, bool) or not 0 < item <= LINE_MAX
            ):
                raise ValueError("an item number must be a positive integer")
        except ValueError as error:
            raise InvalidInput(
                f"Row {number} of the upload is malformed: {error}", "body"
            ) from None
        values = {key: record.get(key) for key in _FIELDS}
        yield ImportRow(line=line, **values, item=item)
