"""Camera workers as Ray actors over a cluster, with the `Supervisor`'s interface.

Each enabled camera is one `CameraActor` (`fallwatch.serve.ray_actor`), reserving
`cpus_per_camera` logical CPUs, placed with Ray's SPREAD strategy (or pinned to nodes
offering a custom resource). The actor is created with `max_restarts=-1`: when its node
dies Ray starts it again on a node that is alive, and its constructor starts the worker
again. The head keeps one pump thread per camera that long-polls the actor (`drain`)
and hands frames, figures and events to the same `SupervisorListener` the local
supervisor feeds; the web app, event recorder and outbox never leave the head.

Generations: every construction of an actor answers with a new token. A new token is a
restart (node lost, stall, crash); the pump then opens a new generation in
`EventCarryOver`, so a person still down when the old actor died is not recorded twice.

A stalled worker (no heartbeat for `stall_s`) or a failed one is killed with
`ray.kill(no_restart=False)`, and Ray restarts it. A camera that is removed, paused or
reconfigured has its actor stopped and killed for good. `import ray` happens only here
and in the actor, so the single-machine default needs no Ray.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fallwatch.backoff import Backoff
from fallwatch.config.cluster import ClusterConfig
from fallwatch.config.server import CameraConfig, WorkersConfig
from fallwatch.pipeline.packets import (
    CameraEvent,
    CameraStats,
    FramePacket,
    WorkerFailed,
    WorkerMessage,
    WorkerState,
)
from fallwatch.pipeline.worker import WorkerSpec
from fallwatch.serve.carryover import RESTART_GRACE_S
from fallwatch.serve.engine_base import CameraSlot, EngineBase, SupervisorListener
from fallwatch.serve.ray_actor import CameraActor, Drained

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0
CALL_SLACK_S = 10.0
"""A poll that has not answered `poll_s` plus this long counts as a lost actor."""


def import_ray() -> Any:
    """The `ray` module, or a one-line ValueError naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise ValueError(
            "cluster.engine 'ray' needs Ray on the head and every node: "
            "pip install 'fallwatch[ray]'"
        ) from None
    return ray


@dataclass
class _RayCamera(CameraSlot):
    actor: Any = None
    token: str | None = None
    node_id: str | None = None
    pid: int | None = None
    generation_started: float = 0.0
    lost: bool = False
    closed: threading.Event = field(default_factory=threading.Event)
    pump: threading.Thread | None = None


class RayEngine(EngineBase[_RayCamera]):
    """Keeps one Ray actor running per enabled, unpaused camera."""

    def __init__(
        self,
        config: WorkersConfig,
        cluster: ClusterConfig,
        listener: SupervisorListener,
        *,
        log_level: int = logging.INFO,
    ) -> None:
        super().__init__(listener)
        self.ray = import_ray()
        self.config = config
        self.cluster = cluster
        self.log_level = log_level
        self._started = False
        self._owns_ray = False
        self._actor_class: Any = None

    # --- public control ------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            raise RuntimeError("ray engine already started")
        ray = self.ray
        if not ray.is_initialized():
            # ray.init makes SIGTERM a bare sys.exit; `fallwatch serve` has its own handler
            # that stops the workers and ignores a second signal while stopping.
            main = threading.current_thread() is threading.main_thread()
            previous = signal.getsignal(signal.SIGTERM) if main else None
            try:
                ray.init(
                    address=self.cluster.address,
                    namespace=self.cluster.namespace,
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                )
            except Exception as exc:  # Ray's own errors vary by release: one line
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ValueError(
                    f"cannot join the Ray cluster at {self.cluster.address or 'RAY_ADDRESS'}: "
                    f"{first}"
                ) from None
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)
            self._owns_ray = True
        self._actor_class = ray.remote(CameraActor)
        self._started = True
        with self._lock:
            cams = list(self._cameras.values())
        for cam in cams:
            self._launch(cam)

    def stop(self) -> None:
        with self._lock:
            cams = list(self._cameras.values())
            self._started = False
        self._end_all(cams, WorkerState.STOPPED, "server stopping")
        if self._owns_ray:
            self.ray.shutdown()
            self._owns_ray = False

    def set_camera(self, camera: CameraConfig, *, paused: bool = False) -> None:
        """Add a camera, or replace its config (its actor restarts with the new one)."""
        paused = paused or not camera.enabled
        with self._lock:
            old = self._cameras.get(camera.id)
            if old is not None and old.config == camera and old.paused == paused:
                return
            cam = _RayCamera(config=camera, paused=paused)
            if paused:
                cam.state = WorkerState.PAUSED
            self._cameras[camera.id] = cam
        if old is not None:
            self._end_all([old], WorkerState.STOPPED, "config changed, restarting")
        if paused:
            self._report(cam, "paused" if camera.enabled else "disabled in its config")
        else:
            self._launch(cam)

    def remove_camera(self, camera_id: str) -> None:
        with self._lock:
            cam = self._cameras.pop(camera_id, None)
        if cam is not None:
            self._end_all([cam], WorkerState.STOPPED, "removed")
        self.carry.forget(camera_id)

    def pause(self, camera_id: str, paused: bool = True) -> None:
        """Stop (or start again) a camera's actor; KeyError for an unknown camera."""
        with self._lock:
            old = self._cameras[camera_id]
            if old.paused == paused:
                return
            cam = _RayCamera(config=old.config, paused=paused, restarts=old.restarts)
            if paused:
                cam.state = WorkerState.PAUSED
            self._cameras[camera_id] = cam
        self._end_all([old], WorkerState.PAUSED if paused else WorkerState.STOPPED, "paused")
        if not paused:
            self._launch(cam)

    def want_raw(self, camera_id: str, until_s: float) -> None:
        """Have the camera's actor send the raw picture until wall time `until_s`; the
        next poll carries it (one frame or `poll_s` later, whichever comes first)."""
        with self._lock:
            cam = self._cameras.get(camera_id)
            if cam is not None:
                cam.raw_wanted_until = max(cam.raw_wanted_until, until_s)

    def pid(self, camera_id: str) -> int | None:
        """The actor's process id on its node (diagnostics; the node may be another machine)."""
        with self._lock:
            cam = self._cameras.get(camera_id)
            return None if cam is None else cam.pid

    def placement(self) -> dict[str, str | None]:
        """Camera id -> the Ray node id (hex) its actor last answered from."""
        with self._lock:
            return {cid: cam.node_id for cid, cam in self._cameras.items()}

    # --- actors --------------------------------------------------------------------

    def _options(self, camera: CameraConfig) -> dict[str, Any]:
        options: dict[str, Any] = {
            "num_cpus": self.cluster.cpus_per_camera,
            "max_restarts": -1,
            # at most once: a poll lost with a node is simply polled again
            "max_task_retries": 0,
            # drain (a long poll) and stop run beside each other
            "max_concurrency": 4,
        }
        resource = self.cluster.camera_resources.get(camera.id)
        if resource is not None:
            options["resources"] = {resource: 1}
        elif self.cluster.placement == "spread":
            options["scheduling_strategy"] = "SPREAD"
        return options

    def _launch(self, cam: _RayCamera) -> None:
        with self._lock:
            if not self._started or cam.paused or cam.closed.is_set() or cam.pump is not None:
                return
            cam.pump = threading.Thread(
                target=self._pump, args=(cam,), name=f"ray-pump-{cam.config.id}", daemon=True
            )
        cam.pump.start()

    def _create_actor(self, cam: _RayCamera) -> None:
        spec = WorkerSpec(cam.config, self.config.reconnect, self.log_level, parent_pid=None)
        cam.actor = self._actor_class.options(**self._options(cam.config)).remote(spec)
        cam.token = None
        cam.generation_started = time.monotonic()
        if cam.state is not WorkerState.RESTARTING:
            cam.state = WorkerState.STARTING
            self._report(cam, "actor created, waiting for a node")

    def _end_all(self, cams: list[_RayCamera], state: WorkerState, why: str) -> None:
        """Stop the actors politely (all at once), then kill them for good."""
        ray = self.ray
        stops = []
        for cam in cams:
            cam.closed.set()
            if cam.actor is not None:
                stops.append(cam.actor.stop.remote(STOP_TIMEOUT_S))
        if stops:
            ray.wait(stops, num_returns=len(stops), timeout=STOP_TIMEOUT_S + 1)
        for cam in cams:
            if cam.actor is not None:
                try:
                    ray.kill(cam.actor, no_restart=True)
                except Exception as exc:
                    log.debug("camera %s: kill: %s", cam.config.id, exc)
            if cam.pump is not None and cam.pump is not threading.current_thread():
                cam.pump.join(self.cluster.poll_s + CALL_SLACK_S)
            cam.actor = None
            cam.state = state
            self._report(cam, why)

    # --- one pump thread per camera ------------------------------------------------

    def _pump(self, cam: _RayCamera) -> None:
        ray = self.ray
        while not cam.closed.is_set():
            if cam.actor is None:
                self._create_actor(cam)
            try:
                raw_for_s = max(0.0, cam.raw_wanted_until - time.time())
                drained: Drained = ray.get(
                    cam.actor.drain.remote(self.cluster.poll_s, raw_for_s),
                    timeout=self.cluster.poll_s + CALL_SLACK_S,
                )
            except Exception as exc:
                if cam.closed.is_set():
                    break
                self._unreachable(cam, exc)
                continue
            try:
                self._take(cam, drained)
            except Exception:
                log.exception("camera %s: handling the actor's messages failed", cam.config.id)
        # Stopped while an actor was being created: _end_all may have missed it.
        if cam.actor is not None:
            try:
                ray.kill(cam.actor, no_restart=True)
            except Exception as exc:
                log.debug("camera %s: kill: %s", cam.config.id, exc)

    def _unreachable(self, cam: _RayCamera, exc: Exception) -> None:
        ray = self.ray
        if isinstance(exc, ray.exceptions.ActorDiedError):
            # Dead for good (its restarts were refused): make a new one.
            cam.actor = None
            cam.state = WorkerState.RESTARTING
            self._report(cam, f"actor died ({type(exc).__name__}); creating a new one")
            cam.closed.wait(1.0)
            return
        if cam.token is None and isinstance(exc, ray.exceptions.GetTimeoutError):
            # Never answered yet: still waiting for a node with room (or its resource).
            if not cam.lost:
                cam.lost = True
                self._report(cam, self._waiting_message(cam.config), level=logging.WARNING)
        elif not cam.lost:
            cam.lost = True
            cam.state = WorkerState.RESTARTING
            self._report(
                cam,
                f"actor unreachable ({type(exc).__name__}): its node may be lost; "
                "Ray restarts it on a live node",
                level=logging.WARNING,
            )
        cam.closed.wait(0.5)

    def _waiting_message(self, camera: CameraConfig) -> str:
        resource = self.cluster.camera_resources.get(camera.id)
        need = f"{self.cluster.cpus_per_camera:g} CPU" + (
            f" and 1 {resource!r}" if resource else ""
        )
        return f"waiting for a Ray node with room for the camera ({need} free)"

    def _take(self, cam: _RayCamera, drained: Drained) -> None:
        cid = cam.config.id
        cam.lost = False
        if drained.token != cam.token:
            self._new_generation(cam, drained)
        for msg in drained.messages:
            self._dispatch(cam, msg)
        now = time.monotonic()
        age_s = drained.heartbeat_age_s
        if not drained.worker_alive:
            self._restart(cam, "the worker ended", backoff=True)
        elif age_s is not None and age_s > self.config.stall_s:
            self._restart(cam, f"worker stalled: no heartbeat for {age_s:.0f} s", backoff=False)
        elif age_s is None and now - cam.generation_started > self.config.start_timeout_s:
            self._restart(
                cam,
                f"worker did not start within {self.config.start_timeout_s:.0f} s",
                backoff=False,
            )
        elif cam.crash_streak and now - cam.generation_started > 60.0:
            cam.crash_streak = 0
        log.debug("camera %s: %d messages", cid, len(drained.messages))

    def _new_generation(self, cam: _RayCamera, drained: Drained) -> None:
        cid = cam.config.id
        with self._lock:
            generation = self._generations.get(cid, 0) + 1
            self._generations[cid] = generation
        restarted = cam.token is not None
        cam.token, cam.node_id, cam.pid = drained.token, drained.node_id, drained.pid
        cam.generation_started = time.monotonic()
        window_s = cam.config.fall.found_down_s + cam.config.fall.confirm_s + RESTART_GRACE_S
        self.carry.new_generation(cid, generation, window_s)
        if restarted or cam.state is WorkerState.RESTARTING:
            cam.restarts += 1
        cam.state = WorkerState.RESTARTING if restarted else WorkerState.STARTING
        where = f"node {drained.node_id[:12]} (pid {drained.pid})"
        self._report(cam, f"actor {'restarted' if restarted else 'started'} on {where}")

    def _restart(self, cam: _RayCamera, why: str, *, backoff: bool) -> None:
        """Kill the actor and let Ray start it again (after a backoff for a crash)."""
        cam.crash_streak += 1
        delay_s = 0.0
        if backoff:
            delay_s = Backoff(base_s=1.0, max_s=self.config.restart_backoff_max_s).delay_s(
                cam.crash_streak
            )
        cam.state = WorkerState.RESTARTING
        self._report(cam, f"{why}; restarting in {delay_s:.0f} s", level=logging.WARNING)
        if cam.closed.wait(delay_s):
            return
        try:
            self.ray.kill(cam.actor, no_restart=False)
        except Exception as exc:
            log.warning("camera %s: kill for a restart failed: %s", cam.config.id, exc)
            cam.actor = None

    def _dispatch(self, cam: _RayCamera, msg: WorkerMessage) -> None:
        if isinstance(msg, (FramePacket, CameraStats)):
            if cam.state in (WorkerState.STARTING, WorkerState.RESTARTING):
                cam.state = WorkerState.RUNNING
                self._report(cam, f"running on node {(cam.node_id or '?')[:12]}")
            if isinstance(msg, FramePacket):
                self.listener.on_packet(msg)
            else:
                self.listener.on_stats(msg)
        elif isinstance(msg, CameraEvent):
            with self._lock:
                generation = self._generations.get(cam.config.id, 0)
            self.carry.on_event(generation, msg)
        elif isinstance(msg, WorkerFailed):
            cam.last_message = msg.error
            log.error("camera %s: %s", cam.config.id, msg.error)

    def __repr__(self) -> str:  # pragma: no cover
        return f"RayEngine(cameras={len(self._cameras)}, pid={os.getpid()})"
