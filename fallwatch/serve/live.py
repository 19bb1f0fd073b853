"""The main process's view of every camera: newest frames, stats, worker state, a short past.

Filled by the supervisor's pump threads, read by the web layer (MJPEG, dashboard, metrics)
and the event recorder (clip frames). MJPEG endpoints read from here and never touch a
worker queue, so a slow browser can never slow a camera down.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fallwatch.pipeline.packets import CameraStats, FramePacket
from fallwatch.serve.supervisor import WorkerReport


@dataclass(frozen=True)
class ClipFrame:
    """One annotated frame kept for clips."""

    captured_at: float
    jpeg: bytes


DROP_WINDOW_S = 10.0
"""The drop rate is taken over the worker's figures of about this many last seconds."""


class LiveHub:
    """Thread-safe latest-state store per camera, with a ring buffer of recent frames."""

    def __init__(self, ring_s: float = 10.0) -> None:
        self.ring_s = ring_s
        self._lock = threading.Lock()
        self._new_packet = threading.Condition(self._lock)
        self._packets: dict[str, FramePacket] = {}
        self._stats: dict[str, CameraStats] = {}
        self._workers: dict[str, WorkerReport] = {}
        self._rings: dict[str, deque[ClipFrame]] = {}
        self._drops: dict[str, deque[tuple[float, int]]] = {}

    def put_packet(self, packet: FramePacket) -> None:
        with self._lock:
            self._packets[packet.camera_id] = packet
            self._new_packet.notify_all()
            self._put_stats(packet.stats)
            ring = self._rings.setdefault(packet.camera_id, deque())
            ring.append(ClipFrame(packet.captured_at, packet.annotated_jpeg))
            while ring and packet.captured_at - ring[0].captured_at > self.ring_s:
                ring.popleft()

    def put_stats(self, stats: CameraStats) -> None:
        with self._lock:
            self._put_stats(stats)

    def _put_stats(self, stats: CameraStats) -> None:
        self._stats[stats.camera_id] = stats
        samples = self._drops.setdefault(stats.camera_id, deque())
        if samples and stats.dropped < samples[-1][1]:
            samples.clear()  # a new worker counts from zero again
        samples.append((stats.wall_time, stats.dropped))
        while len(samples) > 2 and stats.wall_time - samples[1][0] >= DROP_WINDOW_S:
            samples.popleft()

    def put_worker(self, report: WorkerReport) -> None:
        with self._lock:
            self._workers[report.camera_id] = report

    def forget(self, camera_id: str) -> None:
        with self._lock:
            for d in (self._packets, self._stats, self._workers, self._rings, self._drops):
                d.pop(camera_id, None)

    def latest(self, camera_id: str) -> FramePacket | None:
        with self._lock:
            return self._packets.get(camera_id)

    def wait_latest(
        self, camera_id: str, ready: Callable[[FramePacket], bool], timeout_s: float
    ) -> FramePacket | None:
        """The newest packet once `ready` says yes to it, or after `timeout_s` whatever
        is newest (None: none yet). For a raw picture asked for just now: it comes with
        the worker's next analysed frame."""
        with self._new_packet:
            self._new_packet.wait_for(
                lambda: (p := self._packets.get(camera_id)) is not None and ready(p),
                timeout_s,
            )
            return self._packets.get(camera_id)

    def stats(self, camera_id: str) -> CameraStats | None:
        with self._lock:
            return self._stats.get(camera_id)

    def dropped_per_s(self, camera_id: str) -> float | None:
        """Frames read but not analysed per second over the last `DROP_WINDOW_S` (newer
        frames replace older ones by design: a rate says how much, a count only grows).
        None until two figures a second or more apart have come."""
        with self._lock:
            samples = self._drops.get(camera_id)
            if not samples or samples[-1][0] - samples[0][0] < 1.0:
                return None
            (t0, d0), (t1, d1) = samples[0], samples[-1]
            return (d1 - d0) / (t1 - t0)

    def worker(self, camera_id: str) -> WorkerReport | None:
        with self._lock:
            return self._workers.get(camera_id)

    def all_stats(self) -> dict[str, CameraStats]:
        with self._lock:
            return dict(self._stats)

    def all_workers(self) -> dict[str, WorkerReport]:
        with self._lock:
            return dict(self._workers)

    def recent(self, camera_id: str, since: float) -> list[ClipFrame]:
        """Frames captured at or after `since` (wall time), oldest first."""
        with self._lock:
            return [f for f in self._rings.get(camera_id, ()) if f.captured_at >= since]
