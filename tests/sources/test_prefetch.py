from __future__ import annotations

import threading

import pytest

from fallwatch.sources.prefetch import BackgroundWriter, prefetch


def test_prefetch_keeps_order_and_runs_ahead_on_another_thread():
    producer_threads = set()

    def items():
        for i in range(50):
            producer_threads.add(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), maxsize=3)) == list(range(50))
    assert producer_threads == {"prefetch"}


def test_prefetch_reraises_the_producer_error():
    def items():
        yield 1
        raise ValueError("corrupt frame")

    it = prefetch(items())
    assert next(it) == 1
    with pytest.raises(ValueError, match="corrupt frame"):
        next(it)


def test_prefetch_stops_the_producer_when_the_consumer_stops():
    produced = []

    def items():
        for i in range(10_000):
            produced.append(i)
            yield i

    it = prefetch(items(), maxsize=2)
    assert [next(it) for _ in range(3)] == [0, 1, 2]
    it.close()
    assert len(produced) < 20


def test_background_writer_writes_everything_in_order_and_reports_errors():
    out = []
    w = BackgroundWriter(out.append, maxsize=2)
    for i in range(100):
        w.put(i)
    w.close()
    assert out == list(range(100))

    def fail(_):
        raise OSError("disk full")

    w = BackgroundWriter(fail)
    w.put(1)
    with pytest.raises(OSError, match="disk full"):
        w.close()
