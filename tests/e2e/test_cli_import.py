"""`tickets import` and `tickets export` through the console script: round trips, re-runs,
all-or-nothing, malformed input, and streaming memory. The behaviour tests run on the
embedded store, through a real `openticket serve` (`--server`), and through one on
PostgreSQL."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OPENTICKET, User, dump_store, marketplace, signed_up


@pytest.fixture(params=["embedded", "server", "postgres-server"])
def people_anywhere(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., User]]:
    """The import suite on SQLite, embedded and served, and on PostgreSQL behind a server."""
    with marketplace(request.param, tmp_path) as people:
        yield people


@pytest.fixture
def seller(people_anywhere: Callable[..., User]) -> User:
    person = people_anywhere("seller")
    signed_up(person, "seller@example.com")
    return person


def _csv(
    path: Path, rows: list[list[str]], header: str = "title,price,currency,external_id"
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write(header + "\n")
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def _import(person: User, *args: str) -> tuple[int, Any]:
    result = person.run("tickets", "import", *args, "--json")
    body = result.stdout or result.stderr
    return result.code, json.loads(body)


def _listing(person: User) -> list[tuple[str, str, str]]:
    return sorted(
        (t["title"], t["price"], t["currency"]) for t in person.ok("tickets", "list", "--mine")
    )


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_export_import_round_trip(seller: User, tmp_path: Path, fmt: str) -> None:
    for title, price, currency in [
        ('Opera, "gala" night', "120.00", "EUR"),
        ("Kabuki", "4500", "JPY"),
        ("Jazz\u00e9", "12.50", "USD"),
    ]:
        seller.ok("tickets", "create", "--title", title, "--price", price, "--currency", currency)
    exported = seller.run("tickets", "export", "--format", fmt)
    assert exported.code == 0
    source = tmp_path / f"export.{fmt}"
    source.write_text(exported.stdout, encoding="utf-8")

    elsewhere = User(home=tmp_path / "other-home", db_path=tmp_path / "other.db")
    signed_up(elsewhere, "buyer@example.com")
    code, report = _import(elsewhere, str(source))
    assert code == 0 and report == {"created": 3, "updated": 0, "skipped": 0, "errors": []}
    again = elsewhere.run("tickets", "export", "--mine", "--format", fmt)
    assert _listing(elsewhere) == _listing(seller)
    assert _parsed(again.stdout, fmt) == _parsed(exported.stdout, fmt)


def _parsed(text: str, fmt: str) -> list[dict[str, str]]:
    if fmt == "csv":
        rows = [dict(row) for row in csv.DictReader(text.splitlines())]
    elif fmt == "json":
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    return sorted(rows, key=lambda row: row["external_id"])


def test_rerun_updates_instead_of_duplicating(seller: User, tmp_path: Path) -> None:
    source = _csv(tmp_path / "t.csv", [["A", "10", "USD", "a"], ["B", "500", "JPY", "b"]])
    assert _import(seller, str(source)) == (
        0,
        {"created": 2, "updated": 0, "skipped": 0, "errors": []},
    )
    first = _listing(seller)
    assert _import(seller, str(source)) == (
        0,
        {"created": 0, "updated": 0, "skipped": 2, "errors": []},
    )
    assert _listing(seller) == first
    _csv(source, [["A", "11", "USD", "a"], ["B", "500", "JPY", "b"]])
    assert _import(seller, str(source)) == (
        0,
        {"created": 0, "updated": 1, "skipped": 1, "errors": []},
    )
    assert ("A", "11.00", "USD") in _listing(seller) and len(_listing(seller)) == 2


def test_stdin_with_format(seller: User) -> None:
    done = subprocess.run(
        [*OPENTICKET, "tickets", "import", "-", "--format", "jsonl", "--json"],
        input='{"title": "Piped", "price": 7}\n',
        capture_output=True,
        text=True,
        env=seller.env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 1
    assert _listing(seller) == [("Piped", "7.00", "USD")]


def test_bad_rows_all_or_nothing_skip_invalid_and_dry_run(seller: User, tmp_path: Path) -> None:
    source = _csv(
        tmp_path / "t.csv",
        [
            ["Good", "10", "USD", "g1"],
            ["Bad", "0", "USD", "b1"],
            ["", "5", "XYZ", "b2"],
            ["Also good", "600", "JPY", "g2"],
        ],
    )
    before = dump_store(seller.db_path)
    code, report = _import(seller, str(source))
    assert code == 1
    assert report["created"] == 0 and report["skipped"] == 4
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "price"),
        (4, "title"),
        (4, "currency"),
    ]
    assert dump_store(seller.db_path) == before

    code, report = _import(seller, str(source), "--dry-run")
    assert code == 1 and report["created"] == 2 and len(report["errors"]) == 3
    assert dump_store(seller.db_path) == before

    code, report = _import(seller, str(source), "--skip-invalid")
    assert code == 0
    assert (report["created"], report["skipped"], len(report["errors"])) == (2, 2, 3)
    assert _listing(seller) == [("Also good", "600", "JPY"), ("Good", "10.00", "USD")]


def test_dry_run_of_a_good_file_writes_nothing(seller: User, tmp_path: Path) -> None:
    source = _csv(tmp_path / "t.csv", [["One", "10", "", ""]])
    before = dump_store(seller.db_path)
    assert _import(seller, str(source), "--dry-run") == (
        0,
        {"created": 1, "updated": 0, "skipped": 0, "errors": []},
    )
    assert dump_store(seller.db_path) == before


def test_reserved_listing_is_not_updated(
    people_anywhere: Callable[..., User], seller: User, tmp_path: Path
) -> None:
    buyer = people_anywhere("buyer")
    signed_up(buyer, "buyer@example.com")
    source = _csv(tmp_path / "t.csv", [["Held", "10", "USD", "h"]])
    _import(seller, str(source))
    ticket = seller.ok("tickets", "list", "--mine")[0]
    buyer.ok("orders", "create", ticket["id"])
    _csv(source, [["Held", "99", "USD", "h"]])
    code, report = _import(seller, str(source))
    assert code == 1
    assert report["errors"] == [
        {"line": 2, "field": "external_id", "message": "Cannot update a reserved ticket"}
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_exported_listings_import_back_unchanged(
    people_anywhere: Callable[..., User], seller: User, tmp_path: Path, fmt: str
) -> None:
    """An export of your listings (some with no external id: the export names them by ticket
    id) imports back as nothing new, and a sold or reserved listing is never relisted."""
    buyer = people_anywhere("buyer")
    signed_up(buyer, "buyer@example.com")
    _import(seller, str(_csv(tmp_path / "t.csv", [["Named", "10", "USD", "n-1"]])))
    for title in ("Sold one", "Reserved one", "Plain one"):
        seller.ok("tickets", "create", "--title", title, "--price", "20")
    ids = {t["title"]: t["id"] for t in seller.ok("tickets", "list", "--mine")}
    sold = buyer.ok("orders", "create", ids["Sold one"])
    buyer.ok("pay", sold["id"], "--card", "tok_visa")
    buyer.ok("orders", "create", ids["Reserved one"])
    before = sorted(
        (t["id"], t["title"], t["price"], t["status"])
        for t in seller.ok("tickets", "list", "--mine")
    )
    exported = seller.run("tickets", "export", "--mine", "--format", fmt)
    assert exported.code == 0
    source = tmp_path / f"mine.{fmt}"
    source.write_text(exported.stdout, encoding="utf-8")

    assert _import(seller, str(source)) == (
        0,
        {"created": 0, "updated": 0, "skipped": 4, "errors": []},
    )
    after = sorted(
        (t["id"], t["title"], t["price"], t["status"])
        for t in seller.ok("tickets", "list", "--mine")
    )
    assert after == before
    assert [t["title"] for t in seller.ok("tickets", "list")] == ["Named", "Plain one"]


def test_repeated_external_id_in_one_file(seller: User, tmp_path: Path) -> None:
    source = _csv(tmp_path / "t.csv", [["A", "10", "USD", "same"], ["B", "10", "USD", "same"]])
    code, report = _import(seller, str(source))
    assert code == 1
    assert report["errors"][0]["line"] == 3 and "also on line 2" in report["errors"][0]["message"]


MALFORMED: list[tuple[str, bytes, str]] = [
    ("missing-price.csv", b"title,currency\nA,USD\n", "line 1: missing required column price"),
    ("missing-title.csv", b"price\n10\n", "line 1: missing required column title"),
    ("quotes.csv", b'title,price\nok,1\n"never closed,2\nmore,3\n', "line 3: malformed CSV"),
    ("latin1.csv", b"title,price\nok,1\ncaf\xe9,2\n", "line 3: not UTF-8"),
    (
        "invalid.json",
        b'[{"title": "a", "price": 1},\n {"title": "b" "price": 2}]',
        "line 2: invalid JSON",
    ),
    ("empty.csv", b"", "line 1: the file is empty"),
    ("empty.json", b"  \n", "line 1: the file is empty"),
    ("empty.jsonl", b"", "line 1: the file is empty"),
]


@pytest.mark.parametrize(("name", "content", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_writes_nothing(
    seller: User, tmp_path: Path, name: str, content: bytes, fragment: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    before = dump_store(seller.db_path)
    code, body = _import(seller, str(source))
    assert code == 1
    assert body["errors"][0]["message"].startswith(fragment)
    assert dump_store(seller.db_path) == before
    text = seller.run("tickets", "import", str(source))
    assert text.stderr.startswith(f"Error: {fragment}") and "Traceback" not in text.stderr


def test_a_bad_json_line_is_one_bad_row(seller: User, tmp_path: Path) -> None:
    """JSON Lines are records of their own: a line that is not JSON is reported with its line
    number like any invalid row (every problem of the file at once), and `--skip-invalid`
    writes the rest."""
    source = tmp_path / "t.jsonl"
    source.write_text(
        '{"title": "First", "price": "10"}\n'
        '{"title": "Broken", "price": \n'
        '{"title": "Priceless", "price": "abc"}\n'
        '{"title": "Last", "price": "12"}\n',
        encoding="utf-8",
    )
    before = dump_store(seller.db_path)
    code, report = _import(seller, str(source))
    assert code == 1 and dump_store(seller.db_path) == before
    assert [(e["line"], e["message"].split(":")[0]) for e in report["errors"]] == [
        (2, "invalid JSON"),
        (3, "Price must be a decimal number such as 12.50"),
    ]
    code, report = _import(seller, str(source), "--skip-invalid")
    assert code == 0 and (report["created"], report["skipped"]) == (2, 2)
    assert [t["title"] for t in seller.ok("tickets", "list")] == ["First", "Last"]


def test_items_of_a_one_line_array_are_told_apart(seller: User, tmp_path: Path) -> None:
    source = tmp_path / "oneline.json"
    source.write_text(
        '[{"title":"A","price":"10"},{"title":"B","price":"x"},'
        '{"title":"C","price":"y"},{"title":"D","price":"11"}]',
        encoding="utf-8",
    )
    code, report = _import(seller, str(source), "--skip-invalid")
    assert code == 0
    assert (report["created"], report["skipped"]) == (2, 2)
    assert [(e["line"], e["message"][:7]) for e in report["errors"]] == [
        (1, "item 2:"),
        (1, "item 3:"),
    ]
    source.write_text('[1, 2, "x"]', encoding="utf-8")
    code, report = _import(seller, str(source), "--dry-run")
    assert report["skipped"] == 3 and len(report["errors"]) == 3


def test_what_is_not_a_file_is_named(seller: User, tmp_path: Path) -> None:
    for args, message in (
        ([str(tmp_path)], f"{tmp_path} is a directory, not a file"),
        ([str(tmp_path), "--format", "csv"], f"{tmp_path} is a directory, not a file"),
        ([str(tmp_path / "nope.csv")], f"No such file: {tmp_path / 'nope.csv'}"),
        (["/dev/null", "--format", "csv"], "line 1: the file is empty"),
    ):
        result = seller.run("tickets", "import", *args)
        assert (result.code, result.stderr.strip()) == (1, f"Error: {message}"), args


def test_an_import_lists_in_file_order(seller: User, tmp_path: Path) -> None:
    titles = [f"Bulk ticket {n}" for n in range(60)]
    source = _csv(tmp_path / "t.csv", [[title, "10", "USD", ""] for title in titles])
    assert _import(seller, str(source))[0] == 0
    assert [t["title"] for t in seller.ok("tickets", "list")] == titles
    assert [t["title"] for t in seller.ok("tickets", "list", "--mine")] == titles


def test_a_100_mb_line(seller: User, tmp_path: Path) -> None:
    source = tmp_path / "huge.csv"
    with source.open("wb") as handle:
        handle.write(b"title,price\nok,1\n")
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b",2\n")
    before = dump_store(seller.db_path)
    code, body = _import(seller, str(source))
    assert code == 1
    assert body["errors"][0]["message"] == "line 3: line is longer than 1 MiB"
    assert dump_store(seller.db_path) == before


def _peak_rss_kb(person: User, source: Path) -> tuple[int, Any]:
    """Peak RSS of the real console script importing `source` (its own process tree)."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(done.stdout)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *OPENTICKET, "tickets", "import", str(source), "--json"],
        capture_output=True,
        text=True,
        env=person.env(),
        timeout=600,
        check=True,
    ).stdout.splitlines()
    return int(out[0]), json.loads(out[1])


def test_memory_does_not_grow_with_file_size(people: Callable[..., User], tmp_path: Path) -> None:
    peaks = {}
    for rows in (5_000, 50_000):
        person = User(home=tmp_path / f"home{rows}", db_path=tmp_path / f"m{rows}.db")
        signed_up(person, "bulk@example.com")
        source = _csv(
            tmp_path / f"bulk{rows}.csv",
            [
                [
                    f"Seat {i} in the upper balcony, row {i % 40}",
                    f"{10 + i % 90}.50",
                    "USD",
                    f"ext-{i}",
                ]
                for i in range(rows)
            ],
        )
        peak, report = _peak_rss_kb(person, source)
        assert report["created"] == rows and report["errors"] == []
        peaks[rows] = peak
    # Ten times the rows: the peak may move by a little (ids kept to catch repeats), not by
    # the rows themselves (about 40 MB more if the file were held in memory).
    assert peaks[50_000] - peaks[5_000] < 15 * 1024, peaks


def _stderr_through_a_terminal(person: User, *args: str) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (as a person would), stdout on a pipe."""
    import os
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*OPENTICKET, *args],
        env=person.env() | {"TERM": "xterm", "COLUMNS": "100"},
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    return proc.returncode, out, seen.decode("utf-8", "replace")


def test_progress_on_a_terminal_only(seller: User, tmp_path: Path) -> None:
    source = _csv(tmp_path / "t.csv", [[f"Seat {i}", "10", "USD", f"p{i}"] for i in range(3000)])
    # Embedded, the phases are the import's own; through a server, the upload's.
    phases = ("Sent",) if "OPENTICKET_SERVER" in seller.extra_env else ("Validated", "Written")
    code, out, terminal = _stderr_through_a_terminal(seller, "tickets", "import", str(source))
    assert code == 0, terminal
    assert all(phase in terminal for phase in phases) and "3,000 rows" in terminal
    assert "Created 3000" in out and phases[0] not in out
    code, out, terminal = _stderr_through_a_terminal(
        seller, "tickets", "import", str(source), "--json"
    )
    assert code == 0 and json.loads(out)["skipped"] == 3000
    assert phases[0] not in terminal and terminal.strip() == ""
    piped = seller.run("tickets", "import", str(source))
    assert piped.code == 0 and piped.stderr == ""
