"""Concurrent requests for one command, run as batches in one worker thread.

On SQLite reservations all queue for the store's one writer anyway. Handing each to a thread
of the server's pool cost more than the reservation itself (a thread hop, then a turn of the
write lock, a transaction and an event delivery each); here requests that arrive while a batch
runs wait on the event loop and go together in the next one: one hop, one transaction, one
delivery for all of them. A request's answer is still given only after its batch committed
and its events were applied by their consumers; a batch waiting for that (on a broker, in
another process) no longer holds the worker thread, which writes the next batch meanwhile.
One writer on PostgreSQL too: several split the queue into small batches, each paying a
batch's reads, transaction and publish (docs/performance.md, fifth pass).
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


Settled = Callable[[], None]


class Batcher(Generic[Request, Answer]):
    """`await submit(request)` runs `run_batch` over a batch of requests in a worker thread.
    `run_batch` answers each request in order, with its result or the exception it raised for
    that request alone; an exception `run_batch` itself raises is every request's answer.
    The answers are given once `run_batch` has also called its second argument, which it may
    do later, from any thread (when what the batch did has settled)."""

    def __init__(
        self,
        run_batch: Callable[[list[Request], Settled], Sequence[Answer | Exception]],
        *,
        name: str,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._run_batch = run_batch
        self._name = name
        self._max_batch = max_batch
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
        """Write the batches queued so far and stop the worker thread (their answers follow
        when they settle)."""
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
                self._threads = [threading.Thread(target=self._work, name=self._name, daemon=True)]
                self._threads[0].start()

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
        answering = _Answering(self._name, batch)
        try:
            answers = self._run_batch([item[0] for item in batch], answering.settled)
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers to {len(batch)} requests")
        except Exception as error:  # the batch failed as a whole (e.g. the store is down)
            log.debug("%s: a batch of %d failed: %r", self._name, len(batch), error)
            answering.give([error] * len(batch))
            return
        answering.written(answers)


class _Answering(Generic[Request, Answer]):
    """A batch's answers, given when they are written and the batch has settled, whichever
    comes last (an error is given at once)."""

    def __init__(self, name: str, batch: list[_Pending[Request, Answer]]) -> None:
        self._name = name
        self._batch = batch
        self._lock = threading.Lock()
        self._answers: Sequence[Answer | Exception] | None = None
        self._settled = False
        self._given = False

    def settled(self) -> None:
        with self._lock:
            self._settled = True
            answers = self._answers
        if answers is not None:
            self.give(answers)

    def written(self, answers: Sequence[Answer | Exception]) -> None:
        with self._lock:
            self._answers = answers
            settled = self._settled
        if settled:
            self.give(answers)

    def give(self, answers: Sequence[Answer | Exception]) -> None:
        with self._lock:
            if self._given:
                return
            self._given = True
        by_loop: dict[
            asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Answer], Answer | Exception]]
        ] = {}
        for (_request, future, loop), answer in zip(self._batch, answers, strict=True):
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
