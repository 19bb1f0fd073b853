"""What both worker engines (`Supervisor`: local processes, `RayEngine`: Ray actors) keep
per camera and tell their listener: the per-camera record, the report of a worker's life,
and the bookkeeping they share (camera list, reports, the event carry-over)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from fallwatch.config.server import CameraConfig
from fallwatch.pipeline.packets import CameraEvent, CameraStats, FramePacket, WorkerState
from fallwatch.serve.carryover import EventCarryOver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerReport:
    """A change in a camera worker's life, for the listener."""

    camera_id: str
    state: WorkerState
    message: str
    restarts: int
    """Restarts after a crash or stall since the camera was added."""


class SupervisorListener(Protocol):
    """Receives everything the workers send. Called from the engine's threads."""

    def on_packet(self, packet: FramePacket) -> None: ...

    def on_stats(self, stats: CameraStats) -> None: ...

    def on_event(self, camera_event: CameraEvent) -> None: ...

    def on_worker(self, report: WorkerReport) -> None: ...


@dataclass
class CameraSlot:
    """One camera as an engine keeps it; each engine adds what its workers need."""

    config: CameraConfig
    paused: bool
    state: WorkerState = WorkerState.STARTING
    restarts: int = 0
    crash_streak: int = 0
    last_message: str = ""
    raw_wanted_until: float = 0.0
    """Wall time until which the raw picture is wanted; a worker started (or restarted)
    meanwhile starts with it."""


SlotT = TypeVar("SlotT", bound=CameraSlot)


class EngineBase(Generic[SlotT]):
    """The cameras under one engine's lock, and how their changes reach the listener."""

    def __init__(self, listener: SupervisorListener) -> None:
        self.listener = listener
        self._cameras: dict[str, SlotT] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.RLock()
        # A restarted worker repeating an open event must not record it twice.
        self.carry = EventCarryOver(lambda e: self.listener.on_event(e))

    def camera_ids(self) -> list[str]:
        with self._lock:
            return list(self._cameras)

    def report(self, camera_id: str) -> WorkerReport | None:
        with self._lock:
            cam = self._cameras.get(camera_id)
            if cam is None:
                return None
            return WorkerReport(camera_id, cam.state, cam.last_message, cam.restarts)

    def _report(self, cam: SlotT, message: str, level: int = logging.INFO) -> None:
        cam.last_message = message
        log.log(level, "camera %s: %s", cam.config.id, message)
        try:
            self.listener.on_worker(WorkerReport(cam.config.id, cam.state, message, cam.restarts))
        except Exception:
            log.exception("camera %s: worker listener failed", cam.config.id)
