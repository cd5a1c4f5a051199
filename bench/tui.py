"""Start-up of `openticket tui` on a store with 10,000 tickets: seconds from launching the
process until the marketplace table first shows tickets, next to the same on an empty store
(the baseline: interpreter, imports, Textual and the store's start-up), and the ratio.

    python bench/tui.py [--tickets 10000] [--runs 3]

The app runs headless (Textual's test driver) in a child process, so the figure includes
starting Python and importing everything, as a user's launch does.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import asyncio, sys
from openticket.cli.credentials import CredentialStore, target_key
from openticket.config import Settings
from openticket.bootstrap import bootstrap
from openticket.tui.app import OpenticketApp
from openticket.tui.session import Session

async def main():
    settings = Settings.from_env()
    api = bootstrap(settings)
    app = OpenticketApp(Session(api, CredentialStore(settings.home), target_key(settings.db_url)))
    async with app.run_test(size=(100, 30)) as pilot:
        while True:
            status = app.screen.query("#status")
            if status and "Page 1" in str(status.first().render()):
                break
            await pilot.pause(0.005)
        print(app.screen.query_one("#tickets").row_count, flush=True)
    api.close()

asyncio.run(main())
"""


def populate(home: Path, tickets: int) -> None:
    script = shutil.which("openticket") or str(Path(sys.executable).parent / "openticket")
    env = _env(home)
    subprocess.run(
        [script, "auth", "signup", "bench@example.com"], env=env, check=True, capture_output=True
    )
    if not tickets:
        return
    source = home / "tickets.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "price"])
        for i in range(tickets):
            writer.writerow([f"Seat {i}", f"{10 + i % 90}.00"])
    subprocess.run(
        [script, "tickets", "import", str(source)], env=env, check=True, capture_output=True
    )


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTICKET_")}
    env.update(OPENTICKET_HOME=str(home), OPENTICKET_PASSWORD="bench password")
    return env


def first_shown(home: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=_env(home), capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return elapsed, int(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        populate(empty, 0)
        populate(full, args.tickets)
        baseline = [first_shown(empty) for _ in range(args.runs)]
        ours = [first_shown(full) for _ in range(args.runs)]
    base = statistics.median(t for t, _ in baseline)
    figure = statistics.median(t for t, _ in ours)
    print(f"tickets in the store          : {args.tickets} (rows shown: {ours[0][1]})")
    print(f"empty store (baseline)        : {base:8.3f} s to the first table")
    print(
        f"{args.tickets:,} tickets               : {figure:8.3f} s to the first table (goal < 1 s)"
    )
    print(f"ratio                         : {figure / base:8.3f}")


if __name__ == "__main__":
    main()
