"""One camera's worker process: capture thread -> analysis at the camera's rate -> JPEGs out.

Runs in its own process (multiprocessing, spawn) so cameras analyse in parallel on
separate cores and a crash or hang in one (a decoder, a model) cannot take the others
down. It sends `FramePacket`s (newest annotated JPEG with stats), `CameraEvent`s,
and a stats-only `CameraStats` every second (also while the camera is disconnected) on
its own queue, and writes a heartbeat the supervisor watches.

The raw picture (no skeletons) is encoded and sent only while the server says someone
looks at it: `raw_wanted` holds a wall time (`time.time()`) until which it is wanted,
which the server pushes forward while a raw view is open. Nobody watching, no second
JPEG encode per frame and half the bytes to the server (what limits a cluster's head).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent
from typing import TYPE_CHECKING

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.server import CameraConfig, ReconnectConfig
from fallwatch.pipeline.lifeline import watch_parent
from fallwatch.pipeline.motion import GateDecision, MotionGate, RateMode, RateReason
from fallwatch.pipeline.packets import (
    CameraEvent,
    CameraStats,
    FramePacket,
    WorkerFailed,
    WorkerQueue,
)
from fallwatch.sources.capture import (
    CapturedFrame,
    CaptureThread,
    ConnectionState,
    make_reader,
)
from fallwatch.types import Frame

if TYPE_CHECKING:
    from fallwatch.pipeline.analyzer import Analyzer
    from fallwatch.pipeline.annotator import Annotator

log = logging.getLogger(__name__)

MAX_QUEUED_FRAMES = 3
"""Frame packets allowed in flight to the main process before new ones are dropped."""
STATUS_EVERY_S = 1.0


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs (pickled across the spawn)."""

    camera: CameraConfig
    reconnect: ReconnectConfig
    log_level: int = logging.INFO
    parent_pid: int | None = None
    """The server process: the worker exits when it is gone (None: not watched)."""


def encode_jpeg(image: npt.NDArray[np.uint8], quality: int, max_width_px: int) -> bytes:
    h, w = image.shape[:2]
    if w > max_width_px:
        scale = max_width_px / w
        image = cv2.resize(
            image,
            (max_width_px, max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA,
        )  # type: ignore[assignment]
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"JPEG encoding failed for an image of shape {image.shape}")
    return buf.tobytes()


class _Rate:
    """Events per second over a sliding window of `window_s`."""

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s = window_s
        self._times: deque[float] = deque()

    def tick(self, now: float) -> None:
        self._times.append(now)
        self.rate(now)

    def rate(self, now: float) -> float:
        while self._times and now - self._times[0] > self.window_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        span = now - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


class CameraWorker:
    """The loop of one worker process; `run()` returns when `stop` is set."""

    def __init__(
        self,
        spec: WorkerSpec,
        out: WorkerQueue,
        heartbeat: Synchronized[float],
        stop: MpEvent,
        raw_wanted: Synchronized[float],
    ) -> None:
        self.spec = spec
        self.camera = spec.camera
        self.out = out
        self.heartbeat = heartbeat
        self.stop = stop
        self.raw_wanted = raw_wanted
        self.seq = 0
        self.analysed = 0
        self.rate = _Rate()
        self.inference_ms = 0.0
        self.latency_ms = 0.0
        self.people = 0
        self.gate = MotionGate(spec.camera.motion, gated=spec.camera.gated)
        self.decision = GateDecision(
            RateMode.FULL, RateReason.OFF if not self.gate.gated else RateReason.MOTION, 0.0
        )

    def beat(self) -> None:
        self.heartbeat.value = time.monotonic()

    def run(self) -> None:
        cam = self.camera
        analyzer, annotator = self._build()
        reader = make_reader(
            cam.source,
            is_file=cam.path is not None,
            loop=cam.loop,
            timeout_s=self.spec.reconnect.read_timeout_s,
        )
        self.capture = CaptureThread(cam.id, reader, self.spec.reconnect).start()
        try:
            self._loop(analyzer, annotator)
        finally:
            self.capture.stop()

    def _build(self) -> tuple[Analyzer, Annotator]:
        # Imported here, after the spawn: the model code is the slow part of starting.
        from fallwatch.detect.registry import build_detector
        from fallwatch.pipeline.analyzer import Analyzer
        from fallwatch.pipeline.annotator import Annotator

        cam = self.camera
        self.beat()
        try:
            detector = build_detector(cam.detector)
        except Exception as exc:
            self.out.put(WorkerFailed(cam.id, f"cannot build the detector: {exc}"))
            raise
        self.beat()
        analyzer = Analyzer(detector, cam.fall, camera_id=cam.id)
        annotator = Annotator(cam.fall.zones, cam.fall.min_keypoint_score, privacy=cam.privacy)
        return analyzer, annotator

    def _loop(self, analyzer: Analyzer, annotator: Annotator) -> None:
        # The newest frame is looked at every full-rate period: the motion gate's measure
        # costs well under a millisecond, so motion wakes an idle camera within one
        # full-rate period; the analysis itself runs at the rate the gate picks.
        period_s = 1.0 / self.camera.analysis_fps
        idle_period_s = 1.0 / self.camera.idle_rate_fps
        next_due = time.monotonic()
        last_analysis = -idle_period_s
        last_status = 0.0
        last_state = self.capture.state
        while not self.stop.is_set():
            self.beat()
            now = time.monotonic()
            # Figures every second, and at once when the connection changes (stalled!).
            if now - last_status >= STATUS_EVERY_S or self.capture.state is not last_state:
                last_state = self.capture.state
                self.out.put(self.stats())
                last_status = now
            if next_due > now:
                # Wait for the next slot; the capture thread keeps replacing the slot
                # meanwhile, so we then take the newest frame.
                self.stop.wait(min(next_due - now, 0.5))
                continue
            captured = self.capture.slot.take(timeout_s=0.5)
            if captured is None:
                continue
            now = time.monotonic()
            next_due = max(next_due + period_s, now)
            self.decision = self.gate.decide(captured.image, now, analyzer.classifier.held_states())
            # Idle: analyse once the idle period is (within half a slot) over.
            if self.decision.full or now - last_analysis >= idle_period_s - period_s / 2:
                last_analysis = now
                self._analyse(captured, analyzer, annotator)

    def _analyse(self, captured: CapturedFrame, analyzer: Analyzer, annotator: Annotator) -> None:
        """One frame: analyse, annotate, send its events and (room permitting) the frame."""
        cam = self.camera
        frame = Frame(
            image=captured.image,
            t_s=captured.t_s,
            index=captured.index,
            camera_id=cam.id,
        )
        result = analyzer.process(frame)
        annotated = annotator.annotate(frame.image, result.poses, result.update)
        ann_jpeg = encode_jpeg(annotated, cam.jpeg_quality, cam.max_width_px)
        raw_jpeg = (
            encode_jpeg(frame.image, cam.jpeg_quality, cam.max_width_px)
            if self.wants_raw()
            else None
        )
        self.analysed += 1
        self.rate.tick(time.monotonic())
        self.inference_ms = result.timings_ms.get("detect", 0.0)
        self.latency_ms = (time.time() - captured.captured_at) * 1000
        self.people = len(result.poses)
        for event in result.update.events:
            log.info(
                "camera %s: %s, person %d",
                cam.id,
                event.kind.value,
                event.track_id,
            )
            self.out.put(CameraEvent(event, ann_jpeg, captured.captured_at))
        self.seq += 1
        if _queued(self.out) < MAX_QUEUED_FRAMES:
            self.out.put(
                FramePacket(
                    camera_id=cam.id,
                    seq=self.seq,
                    captured_at=captured.captured_at,
                    annotated_jpeg=ann_jpeg,
                    raw_jpeg=raw_jpeg,
                    stats=self.stats(),
                    frame_wh=(int(frame.image.shape[1]), int(frame.image.shape[0])),
                )
            )

    def wants_raw(self) -> bool:
        """Whether a raw picture goes out with this frame: never for a privacy camera."""
        return not self.camera.privacy and time.time() < self.raw_wanted.value

    def stats(self) -> CameraStats:
        cap = self.capture.stats()
        return CameraStats(
            camera_id=self.camera.id,
            connection=cap.state,
            analysis_fps=round(self.rate.rate(time.monotonic()), 2),
            target_fps=self.camera.analysis_fps,
            source_fps=round(cap.source_fps, 2),
            frames=cap.frames,
            analysed=self.analysed,
            dropped=cap.dropped,
            inference_ms=round(self.inference_ms, 1),
            latency_ms=round(self.latency_ms, 1),
            reconnects=cap.reconnects,
            stalls=cap.stalls,
            last_error=cap.last_error if cap.state is not ConnectionState.CONNECTED else None,
            retry_in_s=None if cap.retry_in_s is None else round(cap.retry_in_s, 1),
            people=self.people,
            wall_time=time.time(),
            rate_mode=self.decision.mode.value,
            rate_reason=self.decision.reason.value,
        )


def _queued(queue: WorkerQueue) -> int:
    try:
        return int(queue.qsize())
    except NotImplementedError:  # macOS: no sem_getvalue; never drop rather than guess
        return 0


def run_worker(
    spec: WorkerSpec,
    out: WorkerQueue,
    heartbeat: Synchronized[float],
    stop: MpEvent,
    raw_wanted: Synchronized[float],
) -> None:
    """Entry point of a worker process (must stay importable at module level for spawn)."""
    logging.basicConfig(
        level=spec.log_level,
        format=f"%(asctime)s %(levelname)s camera {spec.camera.id} [worker]: %(message)s",
    )
    watch_parent(spec.parent_pid)
    cv2.setNumThreads(1)  # OpenCV's own pool would fight the other cameras for the cores
    with contextlib.suppress(KeyboardInterrupt):
        CameraWorker(spec, out, heartbeat, stop, raw_wanted).run()
