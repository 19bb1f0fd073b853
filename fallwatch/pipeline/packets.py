"""What a camera worker process sends to the main process (named, picklable dataclasses).

Frames (`FramePacket`) may be dropped on the way when the main process is slow; events
(`CameraEvent`), stats (`CameraStats`) and fatal errors (`WorkerFailed`) are never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from fallwatch.sources.capture import ConnectionState
from fallwatch.types import FallEvent


class WorkerState(StrEnum):
    """The supervisor's view of one camera's worker process."""

    STARTING = "starting"
    """Spawned; loading the model."""
    RUNNING = "running"
    RESTARTING = "restarting"
    """Crashed or stalled; a new process starts after the backoff."""
    PAUSED = "paused"
    """Stopped on purpose (camera paused or disabled)."""
    STOPPED = "stopped"


@dataclass(frozen=True)
class CameraStats:
    """One camera's live figures, as the dashboard and /metrics show them."""

    camera_id: str
    connection: ConnectionState
    analysis_fps: float
    """Frames analysed per second over the last few seconds."""
    target_fps: float
    """The camera's analysis_fps setting."""
    source_fps: float
    """Frames per second read from the source."""
    frames: int
    """Frames read from the source since the worker started."""
    analysed: int
    """Frames analysed since the worker started."""
    dropped: int
    """Frames read but never analysed (newer ones replaced them) since the worker started."""
    inference_ms: float
    """Detector time of the last analysed frame, milliseconds."""
    latency_ms: float
    """Capture to annotated JPEG ready, last frame, milliseconds."""
    reconnects: int
    last_error: str | None
    retry_in_s: float | None
    people: int
    """People in the last analysed frame."""
    wall_time: float
    """time.time() when these figures were taken."""
    stalls: int = 0
    """Times the source delivered no frame for `read_timeout_s` (then a reconnect)."""
    rate_mode: str = "full"
    """"full" (analysed at analysis_fps) or "idle" (at idle_fps): the motion gate's pick."""
    rate_reason: str = "gating off"
    """Why: "person down", "person in view", "motion", "no motion" or "gating off"
    (`fallwatch.pipeline.motion.RateReason`)."""


@dataclass(frozen=True)
class FramePacket:
    """The newest analysed frame of a camera, as JPEG, for live views and clips."""

    camera_id: str
    seq: int
    captured_at: float
    """time.time() when the capture thread read the frame."""
    annotated_jpeg: bytes
    raw_jpeg: bytes | None
    """None for privacy cameras: the picture never leaves the worker."""
    stats: CameraStats
    frame_wh: tuple[int, int] | None = None
    """Width and height of the source frame in pixels. The JPEGs may be scaled down to
    `max_width_px`, while zones are drawn in source pixels (the zone editor maps to them)."""


@dataclass(frozen=True)
class CameraEvent:
    """A fall, found-down or recovered event from a camera's classifier."""

    event: FallEvent
    snapshot_jpeg: bytes
    """The annotated frame the event was raised on."""
    captured_at: float
    """time.time() of that frame."""


@dataclass(frozen=True)
class WorkerFailed:
    """The worker could not run (bad detector config, missing model); it exits after this."""

    camera_id: str
    error: str


WorkerMessage = FramePacket | CameraStats | CameraEvent | WorkerFailed
"""Everything a worker puts on its queue."""


class WorkerQueue(Protocol):
    """The worker's end of its queue to the main process (a multiprocessing queue; a
    `queue.Queue` when a test runs the worker in a thread)."""

    def put(self, obj: WorkerMessage, /) -> None: ...

    def qsize(self) -> int: ...
