"""The plots of docs/performance.md, from the JSON figures bench/http.py writes (--json-out).

    pip install -e '.[bench]'
    python bench/http.py --clients 8,16,32,64 --json-out docs/figures/embedded.json
    python bench/http.py --scaled-out --servers 1,2,4 --json-out docs/figures/scaled.json
    python bench/http.py --scaled-out --servers 1,2,4 --pg-latency-ms 2 \\
        --json-out docs/figures/scaled-latency.json
    python bench/plot.py docs/figures

Writes embedded.png (reservations/s and p99 against clients, one embedded server) and
scaled-out.png (against servers, PostgreSQL on this machine and 2 ms away) next to them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _twin_axes(title: str, xlabel: str) -> tuple[Any, Any, Any]:
    figure, rate_axis = plt.subplots(figsize=(7, 4.2), dpi=110)
    rate_axis.set_title(title)
    rate_axis.set_xlabel(xlabel)
    rate_axis.set_ylabel("reservations/s")
    p99_axis = rate_axis.twinx()
    p99_axis.set_ylabel("p99 latency (ms)")
    return figure, rate_axis, p99_axis


def embedded(folder: Path) -> Path:
    runs = _load(folder / "embedded.json")["embedded"]
    clients = [run["clients"] for run in runs]
    figure, rates, p99s = _twin_axes("One embedded server (SQLite)", "concurrent clients")
    rates.plot(clients, [run["rate"] for run in runs], "o-", label="reservations/s")
    p99s.plot(clients, [run["p99"] for run in runs], "s--", color="tab:red", label="p99 (ms)")
    rates.set_xticks(clients)
    figure.legend(loc="upper left", bbox_to_anchor=(0.12, 0.88))
    figure.tight_layout()
    out = folder / "embedded.png"
    figure.savefig(out)
    return out


def scaled_out(folder: Path) -> Path:
    figure, rates, p99s = _twin_axes(
        "Scaled out (PostgreSQL + NATS, a worker per domain)", "servers"
    )
    for name, label in (("scaled.json", "PostgreSQL here"), ("scaled-latency.json", None)):
        path = folder / name
        if not path.exists():
            continue
        data = _load(path)
        label = label or f"PostgreSQL {data['pg_latency_ms']:g} ms away"
        runs = data["scaled_out"]
        servers = [run["servers"] for run in runs]
        rates.plot(servers, [run["rate"] for run in runs], "o-", label=f"reservations/s, {label}")
        p99s.plot(
            servers, [run["p99"] for run in runs], "s--", alpha=0.6, label=f"p99 (ms), {label}"
        )
        rates.axhline(
            data["embedded"][0]["rate"],
            color="gray",
            linestyle=":",
            linewidth=1,
            label="_nolegend_" if label != "PostgreSQL here" else "embedded, same run",
        )
        rates.set_xticks(servers)
    rates.set_ylim(bottom=0)
    p99s.set_ylim(bottom=0)
    figure.legend(loc="center left", bbox_to_anchor=(0.12, 0.6), fontsize="small")
    figure.tight_layout()
    out = folder / "scaled-out.png"
    figure.savefig(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="where the JSON figures are; PNGs go there")
    args = parser.parse_args()
    for made in (embedded(args.folder), scaled_out(args.folder)):
        print(f"wrote {made}")


if __name__ == "__main__":
    main()
