"""A Rich progress display on stderr for long imports, only when stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Tick = Callable[[str, int], None]


@contextmanager
def import_progress(*, enabled: bool) -> Iterator[Tick]:
    if not (enabled and sys.stderr.isatty()):
        yield lambda _phase, _rows: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        tasks: dict[str, Any] = {}

        def tick(phase: str, rows: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase.capitalize())
            progress.advance(tasks[phase], rows)

        yield tick
