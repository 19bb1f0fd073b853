"""Starts one worker process per camera and restarts any that crash or stall.

A monitor thread checks every worker each `poll_s`: a process that exited is restarted
after a backoff that doubles with each crash in a row (1 s, 2 s, 4 s ... up to
`restart_backoff_max_s`), and one whose heartbeat is older than `stall_s` (a hung
decoder, a deadlocked model) is killed and restarted the same way. Every change is
reported to the listener as a `WorkerReport`, so the dashboard and /metrics show it.

Each worker generation gets a fresh queue and heartbeat: a process killed while writing
can leave a multiprocessing queue's lock held, so queues are never reused.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue as queue_mod
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext, SpawnProcess
from multiprocessing.queues import Queue as MpQueue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as MpEvent

from fallwatch.backoff import Backoff
from fallwatch.config.server import CameraConfig, WorkersConfig
from fallwatch.pipeline.packets import (
    CameraEvent,
    CameraStats,
    FramePacket,
    WorkerFailed,
    WorkerMessage,
    WorkerQueue,
    WorkerState,
)
from fallwatch.pipeline.worker import WorkerSpec, run_worker
from fallwatch.serve.carryover import RESTART_GRACE_S
from fallwatch.serve.engine_base import CameraSlot, EngineBase
from fallwatch.serve.engine_base import SupervisorListener as SupervisorListener
from fallwatch.serve.engine_base import WorkerReport as WorkerReport

log = logging.getLogger(__name__)

STOP_FLAG_TIMEOUT_S = 1.0
"""How long setting a worker's stop flag may take before the worker is ended by force."""

HEALTHY_AFTER_S = 60.0
"""A worker that ran this long without trouble resets its crash count (and backoff)."""

WorkerTarget = Callable[
    [WorkerSpec, WorkerQueue, "Synchronized[float]", MpEvent, "Synchronized[float]"], None
]
"""A worker process's entry point: spec, queue, heartbeat, stop flag, raw-wanted-until."""


@dataclass
class _Generation:
    """One worker process and the channels that belong to it alone."""

    process: SpawnProcess
    queue: MpQueue[WorkerMessage]
    heartbeat: Synchronized[float]
    stop: MpEvent
    raw_wanted: Synchronized[float]
    """Wall time until which the raw picture is wanted (`CameraWorker`)."""
    started_at: float
    number: int = 0
    """The camera's worker generation (`EventCarryOver`)."""
    closed: threading.Event = field(default_factory=threading.Event)
    pump: threading.Thread | None = None


@dataclass
class _Camera(CameraSlot):
    worker: _Generation | None = None
    restart_at: float = 0.0


class Supervisor(EngineBase[_Camera]):
    """Keeps one worker process running per enabled, unpaused camera."""

    def __init__(
        self,
        config: WorkersConfig,
        listener: SupervisorListener,
        *,
        target: WorkerTarget = run_worker,
        poll_s: float = 0.5,
        log_level: int = logging.INFO,
    ) -> None:
        super().__init__(listener)
        self.config = config
        self.target = target
        self.poll_s = poll_s
        self.log_level = log_level
        self._ctx: SpawnContext = mp.get_context("spawn")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- public control ------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("supervisor already started")
        self._thread = threading.Thread(target=self._monitor, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop every worker (politely, then by force) and the monitor thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with self._lock:
            cams = list(self._cameras.values())
        threads = [
            threading.Thread(
                target=self._stop_worker,
                args=(c, WorkerState.STOPPED, "server stopping"),
            )
            for c in cams
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def set_camera(self, camera: CameraConfig, *, paused: bool = False) -> None:
        """Add a camera, or replace its config (its worker restarts with the new one)."""
        paused = paused or not camera.enabled
        with self._lock:
            old = self._cameras.get(camera.id)
            if old is not None and old.config == camera and old.paused == paused:
                return
            cam = _Camera(config=camera, paused=paused)
            if paused:
                cam.state = WorkerState.PAUSED
            self._cameras[camera.id] = cam
        if old is not None:
            self._stop_worker(old, WorkerState.STOPPED, "config changed, restarting")
        if paused:
            self._report(cam, "paused" if camera.enabled else "disabled in its config")

    def remove_camera(self, camera_id: str) -> None:
        with self._lock:
            cam = self._cameras.pop(camera_id, None)
        if cam is not None:
            self._stop_worker(cam, WorkerState.STOPPED, "removed")
        self.carry.forget(camera_id)

    def pause(self, camera_id: str, paused: bool = True) -> None:
        """Stop (or start again) a camera's worker; KeyError for an unknown camera."""
        with self._lock:
            cam = self._cameras[camera_id]
            if cam.paused == paused:
                return
            cam.paused = paused
            if not paused:
                cam.state = WorkerState.STARTING
                cam.restart_at = 0.0
                cam.crash_streak = 0
        if paused:
            self._stop_worker(cam, WorkerState.PAUSED, "paused")

    def want_raw(self, camera_id: str, until_s: float) -> None:
        """Have the camera's worker send the raw picture until wall time `until_s`
        (unknown cameras are ignored: a viewer may outlive its camera)."""
        with self._lock:
            cam = self._cameras.get(camera_id)
            if cam is None or until_s <= cam.raw_wanted_until:
                return
            cam.raw_wanted_until = until_s
            if cam.worker is not None:
                # A plain shared double, no lock: one writer (this, under our lock), and a
                # torn read cannot happen for an aligned 8-byte value.
                cam.worker.raw_wanted.value = until_s

    def pid(self, camera_id: str) -> int | None:
        """The worker's process id (tests and diagnostics)."""
        with self._lock:
            cam = self._cameras.get(camera_id)
            if cam is None or cam.worker is None:
                return None
            return cam.worker.process.pid

    # --- the monitor thread --------------------------------------------------------

    def _monitor(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                cams = list(self._cameras.values())
            for cam in cams:
                try:
                    self._check(cam)
                except Exception:
                    log.exception("camera %s: supervisor check failed", cam.config.id)
            self._stop.wait(self.poll_s)

    def _check(self, cam: _Camera) -> None:
        with self._lock:
            if cam.paused or self._cameras.get(cam.config.id) is not cam:
                return
            now = time.monotonic()
            gen = cam.worker
            if gen is None:
                if now >= cam.restart_at:
                    self._spawn(cam)
                return
            if not gen.process.is_alive():
                code = gen.process.exitcode
                why = f"worker exited with code {code}"
                if cam.last_message and cam.state is WorkerState.RESTARTING:
                    why += f" ({cam.last_message})"
                self._crashed(cam, why)
                return
            if gen.heartbeat.value == 0.0:
                # Not one heartbeat yet: still starting (spawn, imports, model loading).
                if now - gen.started_at > self.config.start_timeout_s:
                    self._crashed(
                        cam,
                        f"worker did not start within {self.config.start_timeout_s:.0f} s, killed",
                    )
                return
            silent_s = now - gen.heartbeat.value
            if silent_s > self.config.stall_s:
                self._crashed(cam, f"worker stalled: no heartbeat for {silent_s:.0f} s, killed")
                return
            if now - gen.started_at > HEALTHY_AFTER_S and cam.crash_streak:
                cam.crash_streak = 0

    def _spawn(self, cam: _Camera) -> None:
        spec = WorkerSpec(cam.config, self.config.reconnect, self.log_level, os.getpid())
        out: MpQueue[WorkerMessage] = self._ctx.Queue()
        heartbeat = self._ctx.Value("d", 0.0, lock=False)  # 0: no heartbeat yet
        stop = self._ctx.Event()
        raw_wanted = self._ctx.Value("d", cam.raw_wanted_until, lock=False)
        process = self._ctx.Process(
            target=self.target,
            args=(spec, out, heartbeat, stop, raw_wanted),
            name=f"fallwatch-camera-{cam.config.id}",
            daemon=True,
        )
        process.start()
        number = self._generations.get(cam.config.id, 0) + 1
        self._generations[cam.config.id] = number
        fall = cam.config.fall
        window_s = fall.found_down_s + fall.confirm_s + RESTART_GRACE_S
        self.carry.new_generation(cam.config.id, number, window_s)
        gen = _Generation(process, out, heartbeat, stop, raw_wanted, time.monotonic(), number)
        gen.pump = threading.Thread(
            target=self._pump,
            args=(cam, gen),
            name=f"pump-{cam.config.id}",
            daemon=True,
        )
        gen.pump.start()
        cam.worker = gen
        if cam.state is not WorkerState.RESTARTING:
            cam.state = WorkerState.STARTING
            self._report(cam, f"worker started (pid {process.pid})")
        else:
            log.info("camera %s: worker restarted (pid %s)", cam.config.id, process.pid)

    def _crashed(self, cam: _Camera, why: str) -> None:
        gen = cam.worker
        if gen is not None:
            self._end(gen)
        cam.worker = None
        cam.restarts += 1
        cam.crash_streak += 1
        delay_s = Backoff(base_s=1.0, max_s=self.config.restart_backoff_max_s).delay_s(
            cam.crash_streak
        )
        cam.restart_at = time.monotonic() + delay_s
        cam.state = WorkerState.RESTARTING
        self._report(cam, f"{why}; restarting in {delay_s:.0f} s", level=logging.WARNING)

    def _stop_worker(self, cam: _Camera, state: WorkerState, why: str) -> None:
        with self._lock:
            gen, cam.worker = cam.worker, None
            cam.state = state
        if gen is not None:
            self._end(gen, grace_s=5.0)
        self._report(cam, why)

    @staticmethod
    def _raise_stop_flag(gen: _Generation) -> None:
        """Set the worker's stop flag, giving up after `STOP_FLAG_TIMEOUT_S`.

        The flag is a process-shared lock and condition. A worker killed while inside it
        (systemd and `timeout` send SIGTERM to the whole process group, workers included)
        leaves the lock taken for ever, and `Event.set()` would then wait for ever: a
        stuck shutdown, or a monitor thread that never restarts any camera again.
        """
        setter = threading.Thread(target=gen.stop.set, name="stop-flag", daemon=True)
        setter.start()
        setter.join(STOP_FLAG_TIMEOUT_S)
        if setter.is_alive():
            log.warning(
                "worker pid %s: its stop flag is locked (it died inside it); ending it by force",
                gen.process.pid,
            )

    @classmethod
    def _end(cls, gen: _Generation, grace_s: float = 0.0) -> None:
        cls._raise_stop_flag(gen)
        if grace_s:
            gen.process.join(grace_s)
        if gen.process.is_alive():
            gen.process.terminate()
            gen.process.join(2)
        if gen.process.is_alive():
            gen.process.kill()
            gen.process.join(2)
        gen.closed.set()
        if gen.pump is not None and gen.pump is not threading.current_thread():
            gen.pump.join(2)
        gen.queue.close()
        gen.queue.cancel_join_thread()

    # --- one pump thread per worker generation ------------------------------------

    def _pump(self, cam: _Camera, gen: _Generation) -> None:
        while not gen.closed.is_set():
            try:
                msg = gen.queue.get(timeout=0.5)
            except queue_mod.Empty:
                continue
            except (EOFError, OSError, ValueError):
                return  # the queue was closed under us: this generation is over
            try:
                self._dispatch(cam, gen, msg)
            except Exception:
                log.exception("camera %s: handling %s failed", cam.config.id, type(msg).__name__)

    def _dispatch(self, cam: _Camera, gen: _Generation, msg: object) -> None:
        # No lock here: the monitor may hold it while ending this very generation (and
        # joining this thread); the state is informative, so a benign race is fine.
        if isinstance(msg, (FramePacket, CameraStats)):
            if cam.state in (WorkerState.STARTING, WorkerState.RESTARTING) and cam.worker is gen:
                cam.state = WorkerState.RUNNING
                self._report(cam, "running")
            if isinstance(msg, FramePacket):
                self.listener.on_packet(msg)
            else:
                self.listener.on_stats(msg)
        elif isinstance(msg, CameraEvent):
            self.carry.on_event(gen.number, msg)
        elif isinstance(msg, WorkerFailed):
            cam.last_message = msg.error
            cam.state = WorkerState.RESTARTING
            log.error("camera %s: %s", cam.config.id, msg.error)
        else:
            log.warning(
                "camera %s: unknown message %r from the worker",
                cam.config.id,
                type(msg),
            )
