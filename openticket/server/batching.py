"""Concurrent requests for one command, run as batches in worker threads.

On SQLite reservations all queue for the store's one writer anyway. Handing each to a thread
of the server's pool cost more than the reservation itself (a thread hop, then a turn of the
write lock, a transaction and an event delivery each); here requests that arrive while a batch
runs wait on the event loop and go together in the next one: one hop, one transaction, one
delivery for all of them. A request's answer is still given only after its batch committed
and delivered its events. On PostgreSQL writers run in parallel, so there are several worker
threads: one batch is written while the one before waits for the consumers of its events.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger("openticket.server")

Request = TypeVar("Request")
Answer = TypeVar("Answer")

MAX_BATCH = 64

_Pending = tuple[Request, "asyncio.Future[Answer]", asyncio.AbstractEventLoop]


class Batcher(Generic[Request, Answer]):
    """`await submit(request)` runs `run_batch` over a batch of requests in a worker thread.
    `run_batch` answers each request in order, with its result or the exception it raised for
    that request alone; an exception `run_batch` itself raises is every request's answer."""

    def __init__(
        self,
        run_batch: Callable[[list[Request]], Sequence[Answer | Exception]],
        *,
        name: str,
        max_batch: int = MAX_BATCH,
        workers: int = 1,
    ) -> None:
        self._run_batch = run_batch
        self._name = name
        self._max_batch = max_batch
        self._workers = workers
        self._queue: queue.SimpleQueue[_Pending[Request, Answer] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._guard = threading.Lock()

    async def submit(self, request: Request) -> Answer:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Answer] = loop.create_future()
        self._start()
        self._queue.put((request, answer, loop))
        return await answer

    def close(self) -> None:
        """Finish the batches queued so far and stop the worker threads."""
        with self._guard:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join()

    def _start(self) -> None:
        if self._threads:
            return
        with self._guard:
            if not self._threads:
                names = (
                    [self._name]
                    if self._workers == 1
                    else [f"{self._name}-{n}" for n in range(self._workers)]
                )
                self._threads = [
                    threading.Thread(target=self._work, name=name, daemon=True) for name in names
                ]
                for thread in self._threads:
                    thread.start()

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            self._answer(batch)

    def _answer(self, batch: list[_Pending[Request, Answer]]) -> None:
        try:
            answers: Sequence[Answer | Exception] = self._run_batch([item[0] for item in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to {len(batch)} requests")
        except Exception as error:  # the batch failed as a whole (e.g. the store is down)
            log.debug("%s: a batch of %d failed: %r", self._name, len(batch), error)
            answers = [error] * len(batch)
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Answer], Answer | Exception]]
        ] = {}
        for (_request, future, loop), answer in zip(batch, answers, strict=True):
            by_loop.setdefault(loop, []).append((future, answer))
        for loop, results in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, results)
            except RuntimeError:  # that loop has closed: nobody waits for these answers
                log.debug("%s: answers for a closed event loop dropped", self._name)


def _resolve(results: list[tuple[asyncio.Future[Answer], Answer | Exception]]) -> None:
    for future, answer in results:
        if future.done():  # the client went away and the request was cancelled
            continue
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result(answer)
