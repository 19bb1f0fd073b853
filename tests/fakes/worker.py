"""A recording supervisor listener, and worker entry points that misbehave on purpose.

They run in spawned processes, so they live in an importable module (the repository root
is on sys.path, which spawn passes to the child) and load no model: quick to start.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from fallwatch.pipeline.packets import (
    CameraEvent,
    CameraStats,
    FramePacket,
    WorkerFailed,
)
from fallwatch.pipeline.worker import WorkerSpec
from fallwatch.serve.supervisor import WorkerReport
from fallwatch.sources.capture import ConnectionState
from fallwatch.types import EventKind, FallEvent


def stats(spec: WorkerSpec) -> CameraStats:
    return CameraStats(
        camera_id=spec.camera.id,
        connection=ConnectionState.CONNECTED,
        analysis_fps=1.0,
        target_fps=spec.camera.analysis_fps,
        source_fps=1.0,
        frames=1,
        analysed=1,
        dropped=0,
        inference_ms=1.0,
        latency_ms=1.0,
        reconnects=0,
        last_error=None,
        retry_in_s=None,
        people=0,
        wall_time=time.time(),
    )


def healthy(spec: WorkerSpec, out: Any, heartbeat: Any, stop: Any, raw_wanted: Any) -> None:
    while not stop.is_set():
        heartbeat.value = time.monotonic()
        out.put(stats(spec))
        stop.wait(0.2)


def crash_after_stats(
    spec: WorkerSpec, out: Any, heartbeat: Any, stop: Any, raw_wanted: Any
) -> None:
    heartbeat.value = time.monotonic()
    out.put(stats(spec))
    time.sleep(0.3)
    sys.exit(3)


def stall_after_stats(
    spec: WorkerSpec, out: Any, heartbeat: Any, stop: Any, raw_wanted: Any
) -> None:
    heartbeat.value = time.monotonic()
    out.put(stats(spec))
    time.sleep(3600)  # a hung decoder: alive, silent


def die_holding_the_stop_flag(
    spec: WorkerSpec, out: Any, heartbeat: Any, stop: Any, raw_wanted: Any
) -> None:
    """Killed (as by a SIGTERM sent to the whole process group) while inside the stop
    flag's lock: the lock stays taken for ever, as the kernel frees no Python locks."""
    heartbeat.value = time.monotonic()
    out.put(stats(spec))
    time.sleep(0.3)
    with stop._cond:
        os.kill(os.getpid(), signal.SIGKILL)


def fall_then_crash(spec: WorkerSpec, out: Any, heartbeat: Any, stop: Any, raw_wanted: Any) -> None:
    """Raises a fall for its person 1 (each new worker's tracker starts at 1), then dies:
    a worker that crashes while someone is down, again and again."""
    heartbeat.value = time.monotonic()
    out.put(stats(spec))
    event = FallEvent(EventKind.FALL, spec.camera.id, 1, 5.0, 3.0, 2.5, (1.0, 2.0, 3.0, 4.0), 0.9)
    out.put(CameraEvent(event, b"\xff\xd8", time.time()))
    time.sleep(0.5)
    sys.exit(3)


def raw_on_demand(spec: WorkerSpec, out: Any, heartbeat: Any, stop: Any, raw_wanted: Any) -> None:
    """Ten frames a second, with a raw picture while `raw_wanted` (a wall time) is ahead."""
    seq = 0
    while not stop.is_set():
        heartbeat.value = time.monotonic()
        seq += 1
        raw = b"\xff\xd8raw" if time.time() < raw_wanted.value else None
        out.put(FramePacket(spec.camera.id, seq, time.time(), b"\xff\xd8ann", raw, stats(spec)))
        stop.wait(0.1)


def fail_to_start(spec: WorkerSpec, out: Any, heartbeat: Any, stop: Any, raw_wanted: Any) -> None:
    out.put(WorkerFailed(spec.camera.id, "cannot build the detector: model file missing"))
    time.sleep(0.3)
    sys.exit(1)


class RecordingListener:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.packets: list[FramePacket] = []
        self.stats: list[CameraStats] = []
        self.events: list[CameraEvent] = []
        self.reports: list[WorkerReport] = []

    def on_packet(self, packet: FramePacket) -> None:
        with self.lock:
            self.packets.append(packet)
            self.stats.append(packet.stats)

    def on_stats(self, stats: CameraStats) -> None:
        with self.lock:
            self.stats.append(stats)

    def on_event(self, camera_event: CameraEvent) -> None:
        with self.lock:
            self.events.append(camera_event)

    def on_worker(self, report: WorkerReport) -> None:
        with self.lock:
            self.reports.append(report)

    def messages(self, camera_id: str) -> list[str]:
        with self.lock:
            return [r.message for r in self.reports if r.camera_id == camera_id]


def wait_for(predicate: Callable[[], object], timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
