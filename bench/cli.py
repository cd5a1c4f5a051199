"""CPU time of everyday CLI commands on a store of 10,000 tickets, next to `sqlite-utils rows`
on the same file and a bare `python -c pass`, measured in the same run.

    python bench/cli.py [--tickets 10000] [--runs 7]

Each figure is the median, over `--runs` runs after one warm-up, of the child's user + system
CPU time (os.wait4), which other work on the machine changes far less than wall time. The
store is an embedded SQLite file in a fresh OPENTICKET_HOME: one seller's imported tickets,
and a buyer signed in with three orders (so `orders list` authenticates and reads).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    with open(os.devnull, "wb") as devnull:
        child = subprocess.Popen(argv, env=env, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr = child.stderr.read() if child.stderr else b""
    if child.returncode != 0:
        raise SystemExit(f"{argv} failed ({child.returncode}): {stderr.decode()[-500:]}")
    return usage.ru_utime + usage.ru_stime


def median_cpu(argv: list[str], env: dict[str, str], runs: int) -> float:
    cpu_seconds(argv, env)  # warm-up: bytecode caches, the page cache
    return statistics.median(cpu_seconds(argv, env) for _ in range(runs))


def run(argv: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr[-500:]}")
    return done.stdout


def build_store(home: Path, tickets: int) -> dict[str, str]:
    env = {**os.environ, "OPENTICKET_HOME": str(home), "OPENTICKET_PASSWORD": "bench-password"}
    env.pop("OPENTICKET_DB", None)
    env.pop("OPENTICKET_SERVER", None)
    openticket = str(BIN / "openticket")
    seller_home = home / "seller"
    seller = {**env, "OPENTICKET_HOME": str(seller_home)}
    db_url = f"sqlite:///{home / 'openticket.db'}"
    seller["OPENTICKET_DB"] = env["OPENTICKET_DB"] = db_url
    source = home / "tickets.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "price", "currency", "external_id"])
        for i in range(tickets):
            writer.writerow([f"Seat {i}, row {i % 40}", f"{10 + i % 90}.50", "USD", f"ext-{i}"])
    run([openticket, "auth", "signup", "seller@example.com"], seller)
    run([openticket, "tickets", "import", str(source)], seller)
    run([openticket, "auth", "signup", "buyer@example.com"], env)

    listed = json.loads(run([openticket, "tickets", "list", "--json", "--limit", "3"], env))
    for ticket in listed:
        run([openticket, "orders", "create", ticket["id"]], env)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    sqlite_utils = shutil.which("sqlite-utils", path=str(BIN)) or shutil.which("sqlite-utils")
    if sqlite_utils is None:
        raise SystemExit("sqlite-utils is not installed: pip install -e '.[test]'")
    home = Path(tempfile.mkdtemp(prefix="openticket-bench-cli-"))
    try:
        env = build_store(home, args.tickets)
        openticket = str(BIN / "openticket")
        db_file = str(home / "openticket.db")
        python = median_cpu([sys.executable, "-c", "pass"], env, args.runs)
        rows = median_cpu(
            [sqlite_utils, "rows", db_file, "tickets", "--limit", "100"], env, args.runs
        )
        print(f"tickets in the store            : {args.tickets}")
        print(f"python -c pass                  : {python * 1000:7.0f} ms CPU")
        print(f"sqlite-utils rows … --limit 100 : {rows * 1000:7.0f} ms CPU")
        for label, argv, baseline, goal in (
            ("openticket tickets list", ["tickets", "list"], rows, "≤ 1.5"),
            ("openticket tickets list --json", ["tickets", "list", "--json"], rows, "≤ 1.5"),
            ("openticket orders list", ["orders", "list"], rows, ""),
            ("openticket --help", ["--help"], python, "≤ 10"),
        ):
            figure = median_cpu([openticket, *argv], env, args.runs)
            base = "sqlite-utils" if baseline is rows else "python"
            aim = f"  (goal {goal})" if goal else ""
            print(
                f"{label:<32}: {figure * 1000:7.0f} ms CPU  {figure / baseline:5.2f}x {base}{aim}"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
