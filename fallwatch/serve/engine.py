"""The worker engine: what runs the camera workers, chosen by the `cluster` config.

`Supervisor` (local worker processes) and `RayEngine` (Ray actors over a cluster) share
this interface; the camera service, the web app and the benchmarks see only it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from fallwatch.config.server import CameraConfig, ServerConfig
from fallwatch.serve.supervisor import (
    Supervisor,
    SupervisorListener,
    WorkerReport,
    WorkerTarget,
)


class WorkerEngine(Protocol):
    """Keeps one worker running per enabled, unpaused camera and reports to `listener`."""

    listener: SupervisorListener

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def set_camera(self, camera: CameraConfig, *, paused: bool = False) -> None: ...

    def remove_camera(self, camera_id: str) -> None: ...

    def pause(self, camera_id: str, paused: bool = True) -> None: ...

    def want_raw(self, camera_id: str, until_s: float) -> None:
        """Someone looks at the camera's raw picture: its worker sends one with each
        analysed frame until wall time `until_s` (and none after, to save the encode and
        the bytes). Calls only ever move the time forward; an unknown camera is ignored."""
        ...

    def camera_ids(self) -> list[str]: ...

    def report(self, camera_id: str) -> WorkerReport | None: ...

    def pid(self, camera_id: str) -> int | None: ...


def build_engine(
    config: ServerConfig,
    listener: SupervisorListener,
    *,
    target: WorkerTarget,
    log_level: int = logging.INFO,
) -> WorkerEngine:
    """The engine `config.cluster` asks for; a missing `ray` is a one-line ValueError."""
    if config.cluster.engine == "ray":
        from fallwatch.serve.ray_engine import RayEngine

        return RayEngine(config.workers, config.cluster, listener, log_level=log_level)
    return Supervisor(config.workers, listener, target=target, log_level=log_level)
