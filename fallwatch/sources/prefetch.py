"""Overlap decoding and encoding with inference.

OpenCV releases the GIL while it decodes and encodes, so a reader thread and a writer
thread let the next frame decode and the last annotated frame encode while the model
runs on the main thread. Queues are bounded, so memory stays flat on long files.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterable[T], maxsize: int = 4) -> Iterator[T]:
    """Yield from `items`, produced ahead by a daemon thread; re-raises its errors here."""
    q: queue.Queue[object] = queue.Queue(maxsize=maxsize)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(_Failure(exc))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=2.0)


class BackgroundWriter(Generic[T]):
    """Calls `write(item)` on a worker thread; `close()` drains and re-raises its error."""

    def __init__(self, write: Callable[[T], None], maxsize: int = 4):
        self._write = write
        self._q: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._write(item)  # type: ignore[arg-type]
                except BaseException as exc:
                    self._error = exc

    def put(self, item: T) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(item)

    def close(self) -> None:
        self._q.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
