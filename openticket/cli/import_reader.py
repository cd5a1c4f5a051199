"""Streaming readers for `tickets import`: CSV (header row), a JSON array, JSON Lines.

Rows are produced one at a time with the line they start on (a CSV's header is line 1), so
memory does not grow with the file. A file that cannot be read as its format at all raises
MalformedInput with the line; a record that is readable but wrong becomes a row with a
problem, reported like any invalid row.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from openticket.core.errors import InvalidInput
from openticket.core.tickets.model import ImportRow

MAX_LINE_BYTES = 1 << 20
MAX_ELEMENT_CHARS = 1 << 20
CHUNK_BYTES = 1 << 16
FORMATS = ("csv", "json", "jsonl")
COLUMNS = ("title", "price", "currency", "external_id")
REQUIRED = ("title", "price")
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class MalformedInput(InvalidInput):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}", "file")
        self.line = line


def check_source(source: str) -> None:
    """Refuse what cannot be read as a file, saying why. A device or a pipe (/dev/stdin, a
    process substitution) is read like a file; an empty one is reported as empty."""
    if source == "-":
        return
    path = Path(source)
    if path.is_dir():
        raise InvalidInput(f"{source} is a directory, not a file", "file")
    if not path.exists():
        raise InvalidInput(f"No such file: {source}", "file")
    if not os.access(path, os.R_OK):
        raise InvalidInput(f"Cannot read {source}: permission denied", "file")


@contextmanager
def opened(source: str) -> Iterator[IO[bytes]]:
    """The input as a binary stream: the file, or stdin for `-` (read once, never held whole)."""
    check_source(source)
    if source == "-":
        yield sys.stdin.buffer
        return
    with Path(source).open("rb") as handle:
        yield handle


def detect_format(source: str, explicit: str | None) -> str:
    if explicit is not None:
        fmt = explicit.lower()
        if fmt not in FORMATS:
            raise InvalidInput(f"Unknown format {explicit!r}: use csv, json or jsonl", "format")
        return fmt
    found = _EXTENSIONS.get(Path(source).suffix.lower()) if source != "-" else None
    if found is None:
        raise InvalidInput("Cannot tell the format: give --format csv, json or jsonl", "format")
    return found


def read_rows(handle: IO[bytes], fmt: str) -> Iterator[ImportRow]:
    if fmt == "csv":
        return _csv_rows(_lines(handle))
    if fmt == "jsonl":
        return _jsonl_rows(_lines(handle))
    return _json_array_rows(_chunks(handle))


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, str]]:
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise MalformedInput(number, "line is longer than 1 MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedInput(
                number, f"not UTF-8 text (bad byte at column {error.start + 1})"
            ) from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        yield number, text


def _csv_rows(lines: Iterator[tuple[int, str]]) -> Iterator[ImportRow]:
    current = [0]

    def texts() -> Iterator[str]:
        for number, text in lines:
            current[0] = number
            yield text

    reader = csv.reader(texts(), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise MalformedInput(1, "the file is empty") from None
    except csv.Error as error:
        raise MalformedInput(current[0], f"malformed CSV: {error}") from None
    columns = [name.strip().lower() for name in header]
    _check_columns(columns)
    start = current[0] + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise MalformedInput(start, f"malformed CSV: {error}") from None
        line, start = start, current[0] + 1
        if not record or record == [""]:
            continue
        if len(record) != len(columns):
            yield ImportRow(line, problem=f"expected {len(columns)} fields, found {len(record)}")
            continue
        values = dict(zip(columns, record, strict=True))
        get = values.get
        yield ImportRow(line, get("title"), get("price"), get("currency"), get("external_id"))


def _check_columns(columns: list[str]) -> None:
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        raise MalformedInput(1, f"unknown column {unknown[0]!r} (columns are {', '.join(COLUMNS)})")
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise MalformedInput(1, f"missing required column {', '.join(missing)}")
    if len(set(columns)) != len(columns):
        raise MalformedInput(1, "a column appears twice")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


# Numbers stay text (as written), so prices are parsed exactly by the money rules.
_DECODER = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=_reject_constant)


def _row_from_object(line: int, value: Any, item: int | None = None) -> ImportRow:
    if not isinstance(value, dict):
        problem = "each item must be an object with title and price"
        return ImportRow(line, problem=problem, item=item)
    unknown = [key for key in value if key not in COLUMNS]
    if unknown:
        problem = f"unknown field {unknown[0]!r}"
        return ImportRow(line, problem=problem, problem_field=unknown[0], item=item)
    for key, field_value in value.items():
        if field_value is not None and not isinstance(field_value, str):
            problem = f"{key} must be text or a number"
            return ImportRow(line, problem=problem, problem_field=key, item=item)
    return ImportRow(line, **value, item=item)


def _jsonl_rows(lines: Iterator[tuple[int, str]]) -> Iterator[ImportRow]:
    seen = False
    for number, text in lines:
        if not text.strip():
            continue
        seen = True
        try:
            value = _DECODER.decode(text)
        except ValueError as error:  # this row is bad, the file is still readable
            yield ImportRow(number, problem=f"invalid JSON: {_reason(error)}")
            continue
        yield _row_from_object(number, value)
    if not seen:
        raise MalformedInput(1, "the file is empty")


def _reason(error: ValueError) -> str:
    return error.msg if isinstance(error, json.JSONDecodeError) else str(error)


def _chunks(handle: IO[bytes]) -> Iterator[str]:
    """UTF-8 text in pieces of any size (a JSON array may well be one long line)."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line, first = 1, True
    while True:
        raw = handle.read(CHUNK_BYTES)
        try:
            text = decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as error:
            where = line + raw[: error.start].count(b"\n")
            raise MalformedInput(where, "not UTF-8 text") from None
        if first:
            text, first = text.removeprefix("\ufeff"), False
        line += raw.count(b"\n")
        if text:
            yield text
        if not raw:
            return


class _ArrayScanner:
    """A window over the text with a cursor and the line number at the cursor."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self.text = ""
        self.pos = 0
        self.line = 1
        self.exhausted = False

    def more(self) -> bool:
        for chunk in self._chunks:
            if self.pos > len(self.text) // 2:  # drop what was consumed, rarely
                self.text, self.pos = self.text[self.pos :], 0
            self.text += chunk
            return True
        self.exhausted = True
        return False

    def advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def peek(self) -> str:
        """The next non-space character ('' at the end), with the cursor moved onto it."""
        while True:
            match = _SPACE.match(self.text, self.pos)
            assert match is not None
            self.advance(match.end())
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""


_SPACE = re.compile(r"[ \t\r\n]*")


def _json_array_rows(chunks: Iterator[str]) -> Iterator[ImportRow]:
    """Elements of a top-level JSON array, decoded one by one as the text arrives."""
    scan = _ArrayScanner(chunks)
    first = scan.peek()
    if first == "":
        raise MalformedInput(1, "the file is empty")
    if first != "[":
        raise MalformedInput(scan.line, "expected a JSON array of objects")
    scan.advance(scan.pos + 1)
    expect_item = True
    items = 0
    while True:
        char = scan.peek()
        if char == "":
            raise MalformedInput(scan.line, "invalid JSON: the array is not closed")
        if char == "]":
            scan.advance(scan.pos + 1)
            if scan.peek() != "":
                raise MalformedInput(scan.line, "invalid JSON: text after the array")
            return
        if not expect_item:
            if char != ",":
                raise MalformedInput(scan.line, "invalid JSON: expected ',' or ']'")
            scan.advance(scan.pos + 1)
            expect_item = True
            continue
        while True:
            try:
                value, end = _DECODER.raw_decode(scan.text, scan.pos)
                if end == len(scan.text) and not scan.exhausted and scan.more():
                    continue  # a number may go on in the next chunk
                break
            except ValueError as error:
                if len(scan.text) - scan.pos > MAX_ELEMENT_CHARS:
                    raise MalformedInput(scan.line, "an array item is larger than 1 MiB") from None
                if not scan.more():
                    where = scan.line
                    if isinstance(error, json.JSONDecodeError):
                        where += scan.text.count("\n", scan.pos, error.pos)
                    raise MalformedInput(where, f"invalid JSON: {_reason(error)}") from None
        items += 1
        yield _row_from_object(scan.line, value, items)
        scan.advance(end)
        expect_item = False
