"""One camera's worker as a Ray actor: the ordinary `CameraWorker` loop in a thread.

The class is plain Python; `RayEngine` wraps it with `ray.remote` (so importing this
module needs no Ray). Ray re-runs `__init__` when it restarts the actor on another node,
which starts the worker again: each construction is a new *generation*, told apart by
its `token`. The head collects what the worker sent with `drain()`, a long poll, so
messages come back as they are made without a queue actor in between. Each poll also
carries how much longer the head wants the raw picture (`raw_for_s`): a duration, not
a wall time, so clocks that differ between the head and the node do not matter.

Frames beyond `MAX_QUEUED_FRAMES` are dropped by the worker itself (it asks `qsize`),
as with local worker processes; events, figures and failures are always kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

from fallwatch.pipeline.packets import WorkerFailed, WorkerMessage
from fallwatch.pipeline.worker import CameraWorker, WorkerSpec

log = logging.getLogger(__name__)


class _Value:
    """A float the worker reads or writes (a process-shared value locally): its
    heartbeat, and until when the raw picture is wanted."""

    def __init__(self) -> None:
        self.value = 0.0


class ActorQueue:
    """The worker's `out` inside the actor: a deque that `drain()` empties."""

    def __init__(self) -> None:
        self._items: deque[WorkerMessage] = deque()
        self._cond = threading.Condition()

    def put(self, obj: WorkerMessage, /) -> None:
        with self._cond:
            self._items.append(obj)
            self._cond.notify_all()

    def qsize(self) -> int:
        with self._cond:
            return len(self._items)

    def take_all(self, wait_s: float) -> list[WorkerMessage]:
        with self._cond:
            if not self._items:
                self._cond.wait(wait_s)
            items = list(self._items)
            self._items.clear()
            return items


@dataclass(frozen=True)
class Drained:
    """One poll's answer: who answered, how it is, and what it sent since the last poll."""

    token: str
    """Different for each construction of the actor (a restart is a new generation)."""
    node_id: str
    """The Ray node the actor runs on (hex)."""
    pid: int
    heartbeat_age_s: float | None
    """Seconds since the worker's last heartbeat; None before the first."""
    worker_alive: bool
    """False once the worker's loop has ended (it failed to start, or crashed)."""
    messages: list[WorkerMessage] = field(default_factory=list)


class CameraActor:
    """Runs one camera's `CameraWorker` for as long as the actor lives."""

    def __init__(self, spec: WorkerSpec) -> None:
        import cv2

        logging.basicConfig(
            level=spec.log_level,
            format=f"%(asctime)s %(levelname)s camera {spec.camera.id} [ray]: %(message)s",
        )
        cv2.setNumThreads(1)  # OpenCV's own pool would fight the other cameras for the cores
        self.spec = spec
        self.token = uuid.uuid4().hex
        self.out = ActorQueue()
        self.heartbeat = _Value()
        self.raw_wanted = _Value()
        self.stopping = threading.Event()
        self.node_id = _node_id()
        self.thread = threading.Thread(target=self._run, name="camera-worker", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        worker = CameraWorker(
            self.spec,
            self.out,
            cast(Any, self.heartbeat),
            cast(Any, self.stopping),
            cast(Any, self.raw_wanted),
        )
        try:
            worker.run()
        except Exception as exc:
            log.exception("camera %s: worker failed", self.spec.camera.id)
            self.out.put(WorkerFailed(self.spec.camera.id, f"worker failed: {exc}"))

    def drain(self, wait_s: float, raw_for_s: float = 0.0) -> Drained:
        """What the worker sent since the last call, waiting up to `wait_s` for something;
        the worker sends the raw picture for the next `raw_for_s` seconds (0: none)."""
        self.raw_wanted.value = time.time() + raw_for_s if raw_for_s > 0 else 0.0
        messages = self.out.take_all(wait_s)
        beat = self.heartbeat.value
        return Drained(
            token=self.token,
            node_id=self.node_id,
            pid=os.getpid(),
            heartbeat_age_s=None if beat == 0.0 else time.monotonic() - beat,
            worker_alive=self.thread.is_alive(),
            messages=messages,
        )

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Stop the worker loop; True when it ended within `timeout_s`."""
        self.stopping.set()
        with contextlib.suppress(RuntimeError):
            self.thread.join(timeout_s)
        return not self.thread.is_alive()


def _node_id() -> str:
    import ray

    return str(ray.get_runtime_context().get_node_id())
