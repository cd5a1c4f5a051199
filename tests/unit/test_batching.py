"""The server's Batcher: concurrent requests run together in one worker thread, and each
request gets its own answer (or its own error)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from openticket.core.errors import Conflict
from openticket.server.batching import Batcher, Settled


class Recorder:
    """A run_batch that doubles numbers, refuses negative ones, and records its batches; the
    first batch signals `entered` and waits for `release`, so that requests pile up behind
    it."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.threads: set[str] = set()
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, numbers: list[int], settled: Settled) -> list[int | Exception]:
        settled()  # nothing to wait for after writing
        if not self.entered.is_set():  # the first batch (the next ones start after it entered)
            self.entered.set()
            self.release.wait(5)
        self.batches.append(numbers)
        self.threads.add(threading.current_thread().name)
        return [Conflict(f"{n} is negative") if n < 0 else n * 2 for n in numbers]


async def _first_batch_running(recorder: Recorder) -> None:
    while not recorder.entered.is_set():
        await asyncio.sleep(0.001)


async def _submit_all(
    batcher: Batcher[int, int], recorder: Recorder, numbers: list[int]
) -> list[object]:
    first = asyncio.ensure_future(batcher.submit(numbers[0]))
    await _first_batch_running(recorder)
    rest = [asyncio.ensure_future(batcher.submit(n)) for n in numbers[1:]]
    await asyncio.sleep(0)  # each of them queues its request before it first waits
    recorder.release.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_requests_that_wait_go_together_and_each_gets_its_answer() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, name="test-batcher", max_batch=64)

    answers = asyncio.run(_submit_all(batcher, recorder, [1, 2, -3, 4, 5]))
    batcher.close()

    assert answers[:2] == [2, 4] and answers[3:] == [8, 10]
    assert isinstance(answers[2], Conflict) and str(answers[2]) == "-3 is negative"
    assert recorder.batches == [[1], [2, -3, 4, 5]]
    assert recorder.threads == {"test-batcher"}


def test_a_batch_is_never_larger_than_max_batch() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, name="test-batcher", max_batch=3)

    answers = asyncio.run(_submit_all(batcher, recorder, list(range(1, 9))))
    batcher.close()

    assert answers == [2 * n for n in range(1, 9)]
    assert [len(batch) for batch in recorder.batches] == [1, 3, 3, 1]


def test_a_failed_batch_is_every_request_s_answer() -> None:
    def broken(numbers: list[int], settled: Settled) -> list[int | Exception]:
        raise OSError("disk full")

    batcher: Batcher[int, int] = Batcher(broken, name="test-batcher")

    async def two() -> list[object]:
        return await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)

    answers = asyncio.run(two())
    batcher.close()
    assert [type(answer) for answer in answers] == [OSError, OSError]


def test_a_wrong_number_of_answers_fails_the_batch_not_the_thread() -> None:
    calls: list[list[int]] = []

    def short(numbers: list[int], settled: Settled) -> list[int | Exception]:
        settled()
        calls.append(numbers)
        return [] if len(calls) == 1 else [n * 2 for n in numbers]

    batcher: Batcher[int, int] = Batcher(short, name="test-batcher")
    with pytest.raises(RuntimeError, match="0 answers to 1 requests"):
        asyncio.run(batcher.submit(1))
    assert asyncio.run(batcher.submit(2)) == 4  # the worker thread carries on
    batcher.close()


def test_close_finishes_what_was_queued_and_stops_the_thread() -> None:
    recorder = Recorder()
    recorder.release.set()
    batcher: Batcher[int, int] = Batcher(recorder, name="test-batcher-close")
    assert asyncio.run(batcher.submit(21)) == 42
    batcher.close()
    assert "test-batcher-close" not in {thread.name for thread in threading.enumerate()}
    batcher.close()  # twice is harmless


def test_a_cancelled_request_does_not_disturb_the_others() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, name="test-batcher")

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(batcher.submit(1))
        await _first_batch_running(recorder)
        gone = asyncio.ensure_future(batcher.submit(2))
        kept = asyncio.ensure_future(batcher.submit(3))
        await asyncio.sleep(0)
        gone.cancel()  # the client went away while its request waited
        with pytest.raises(asyncio.CancelledError):
            await gone
        recorder.release.set()
        return await asyncio.gather(first, kept)

    assert asyncio.run(scenario()) == [2, 6]
    assert recorder.batches == [[1], [2, 3]]  # it still ran: its answer just had no taker
    batcher.close()


def test_a_batch_waiting_to_settle_is_answered_then_and_does_not_hold_up_the_next() -> None:
    """On a broker a batch's answers wait until its events' consumers applied them; the
    worker thread meanwhile writes the next batch (one writer, batches as large as what
    queued while it wrote)."""
    unsettled: list[Settled] = []

    def write(numbers: list[int], settled: Settled) -> list[int | Exception]:
        unsettled.append(settled)  # settled later, from another thread
        return [n * 2 for n in numbers]

    batcher: Batcher[int, int] = Batcher(write, name="test-batcher")

    async def scenario() -> list[object]:
        first = asyncio.ensure_future(batcher.submit(1))
        while not unsettled:
            await asyncio.sleep(0.001)
        second = asyncio.ensure_future(batcher.submit(2))
        while len(unsettled) < 2:  # written by the one worker while the first is unsettled
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.05)
        assert not first.done() and not second.done()
        threading.Thread(target=unsettled[1]).start()
        assert await asyncio.wait_for(second, timeout=60) == 4
        assert not first.done()
        unsettled[0]()
        unsettled[0]()  # a second call changes nothing
        return [await asyncio.wait_for(first, timeout=60)]

    assert asyncio.run(scenario()) == [2]
    batcher.close()


def test_a_batch_that_fails_after_handing_on_its_settle_callback_is_answered_at_once() -> None:
    kept: list[Settled] = []

    def fails(numbers: list[int], settled: Settled) -> list[int | Exception]:
        kept.append(settled)
        raise OSError("connection lost")

    batcher: Batcher[int, int] = Batcher(fails, name="test-batcher")
    with pytest.raises(OSError, match="connection lost"):
        asyncio.run(batcher.submit(1))
    kept[0]()  # settling later is harmless
    batcher.close()
