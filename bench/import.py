"""Rows per second importing tickets through the CLI into an empty SQLite store, next to a raw
sqlite3 `executemany` of the same rows into a table of the same shape; peak memory (RSS).

    python bench/import.py [--rows 100000]

The CLI figure is end to end: the `openticket` console script in a subprocess, reading the
CSV, validating every row, writing tickets and their events in batches, and delivering the
events (the orders domain's replica). Start-up is included (about 0.5 s here). The child
may write bytecode caches (as any installed program does) even where the environment sets
PYTHONDONTWRITEBYTECODE, and `auth signup` runs first, so the import does not pay for
compiling openticket's modules from source. Peak RSS is the import process's own (the
signup's argon2 hashing takes 64 MiB by design and is not part of the import).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "price", "currency", "external_id"])
        for i in range(rows):
            writer.writerow([f"Seat {i}, row {i % 40}", f"{10 + i % 90}.50", "USD", f"ext-{i}"])


def raw_baseline(source: Path, db: Path) -> float:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE tickets (id TEXT PRIMARY KEY, title TEXT, price_minor INTEGER, "
        "currency TEXT, owner_id TEXT, version INTEGER, status TEXT, order_id TEXT, "
        "external_id TEXT, created_at TEXT, updated_at TEXT)"
    )
    started = time.perf_counter()
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[tuple[object, ...]] = []
        count = 0
        for title, price, currency, external_id in reader:
            batch.append(
                (
                    uuid.uuid4().hex,
                    title,
                    int(price.replace(".", "")),
                    currency,
                    "u",
                    0,
                    "available",
                    None,
                    external_id,
                    "now",
                    "now",
                )
            )
            if len(batch) == 1000:
                conn.execute("BEGIN")
                conn.executemany("INSERT INTO tickets VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
                conn.execute("COMMIT")
                count += len(batch)
                batch = []
        if batch:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO tickets VALUES (?,?,?,?,?,?,?,?,?,?,?)", batch)
            conn.execute("COMMIT")
            count += len(batch)
    elapsed = time.perf_counter() - started
    conn.close()
    return count / elapsed


def through_cli(source: Path, home: Path, rows: int) -> tuple[float, int]:
    script = shutil.which("openticket") or str(Path(sys.executable).parent / "openticket")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OPENTICKET_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(OPENTICKET_HOME=str(home), OPENTICKET_PASSWORD="bench password")
    subprocess.run(
        [script, "auth", "signup", "bench@example.com", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [script, "tickets", "import", str(source), "--json"], env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if child.returncode != 0 or f'"created": {rows}' not in stdout:
            raise SystemExit(f"import failed: {stdout[:300]} {err.read()[:300]}")
    return rows / elapsed, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "tickets.csv"
        write_csv(source, args.rows)
        baseline = raw_baseline(source, Path(tmp) / "raw.db")
        ours, peak_kb = through_cli(source, Path(tmp) / "home", args.rows)
    print(f"rows                          : {args.rows}")
    print(f"raw sqlite3 executemany       : {baseline:10.0f} rows/s")
    print(f"openticket tickets import     : {ours:10.0f} rows/s  (goal 20000)")
    print(f"ratio                         : {ours / baseline:10.3f}  (goal 0.25)")
    print(f"peak RSS of the import (MiB)  : {peak_kb / 1024:10.1f}")


if __name__ == "__main__":
    main()
