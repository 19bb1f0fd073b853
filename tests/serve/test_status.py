"""A camera's status, from what the camera list, the supervisor and the worker say."""

from __future__ import annotations

import pytest

from fallwatch.config.server import CameraConfig
from fallwatch.pipeline.packets import CameraStats, WorkerState
from fallwatch.serve.cameras import CameraEntry
from fallwatch.serve.live import LiveHub
from fallwatch.serve.status import CameraStatus, camera_status
from fallwatch.serve.supervisor import WorkerReport
from fallwatch.sources.capture import ConnectionState
from fallwatch.types import CameraOrigin
from tests.fakes.web import stats

NOW = 1_000_000.0


def entry(
    *, enabled: bool = True, paused: bool = False, origin: CameraOrigin = CameraOrigin.CONFIG
) -> CameraEntry:
    camera = CameraConfig.model_validate({"id": "ward", "url": "rtsp://x/s", "enabled": enabled})
    return CameraEntry(camera, origin, paused)


def report(state: WorkerState, message: str = "") -> WorkerReport:
    return WorkerReport("ward", state, message, 0)


def figures(**changes: object) -> CameraStats:
    return stats("ward", wall_time=NOW - 0.5, **changes)


RUNNING = report(WorkerState.RUNNING, "running")


@pytest.mark.parametrize(
    ("camera", "worker", "camera_stats", "last_frame_at", "expected", "reason"),
    [
        (entry(), RUNNING, figures(), NOW - 0.3, CameraStatus.LIVE, ""),
        # What the worker last said does not matter when a person paused the camera.
        (entry(paused=True), RUNNING, figures(), NOW, CameraStatus.PAUSED, "paused by an operator"),
        (
            entry(enabled=False, paused=True),
            report(WorkerState.PAUSED, "disabled in its config"),
            None,
            None,
            CameraStatus.DISABLED,
            "enabled: false in the config file",
        ),
        (
            entry(enabled=False, origin=CameraOrigin.API),
            None,
            None,
            None,
            CameraStatus.DISABLED,
            "enabled: false in its settings",
        ),
        (entry(), None, None, None, CameraStatus.STARTING, "waiting for its worker"),
        (
            entry(),
            report(WorkerState.PAUSED, "paused"),
            figures(),
            NOW - 60,
            CameraStatus.STARTING,
            "resuming",
        ),
        (
            entry(),
            report(WorkerState.STARTING),
            None,
            None,
            CameraStatus.STARTING,
            "loading the model",
        ),
        (
            entry(),
            report(WorkerState.RESTARTING, "worker exited with code 1; restarting in 4 s"),
            figures(),
            NOW,
            CameraStatus.RESTARTING,
            "worker exited with code 1; restarting in 4 s",
        ),
        (
            entry(),
            RUNNING,
            figures(
                connection=ConnectionState.DISCONNECTED,
                last_error="cannot connect: refused",
                retry_in_s=7.2,
            ),
            NOW - 60,
            CameraStatus.NO_SIGNAL,
            "cannot connect: refused; retry in 7 s",
        ),
        (
            entry(),
            RUNNING,
            figures(connection=ConnectionState.CONNECTING, reconnects=2, last_error="timed out"),
            None,
            CameraStatus.NO_SIGNAL,
            "reconnecting (timed out)",
        ),
        (
            entry(),
            RUNNING,
            figures(connection=ConnectionState.CONNECTING, reconnects=0),
            None,
            CameraStatus.STARTING,
            "connecting to the camera",
        ),
        (
            entry(),
            RUNNING,
            figures(connection=ConnectionState.STALLED, last_error="no frame for 10 s"),
            NOW - 12,
            CameraStatus.STALLED,
            "connected but no frames (no frame for 10 s)",
        ),
        # Connected, but the newest analysed frame is old: the picture is not current.
        (
            entry(),
            RUNNING,
            figures(),
            NOW - 30,
            CameraStatus.STALLED,
            "connected but no frames for 30 s",
        ),
        # A new worker that has not analysed a frame yet: the hub's frame is from before.
        (
            entry(),
            RUNNING,
            figures(analysed=0),
            NOW - 300,
            CameraStatus.STARTING,
            "connected, waiting for the first frame",
        ),
        # The worker's figures stopped coming (the supervisor restarts it later).
        (
            entry(),
            RUNNING,
            stats("ward", wall_time=NOW - 25),
            NOW - 25,
            CameraStatus.STALLED,
            "no figures from the worker for 25 s",
        ),
        (
            entry(),
            RUNNING,
            figures(connection=ConnectionState.ENDED),
            NOW - 20,
            CameraStatus.ENDED,
            "the file has ended (loop is off)",
        ),
    ],
)
def test_camera_status(
    camera: CameraEntry,
    worker: WorkerReport | None,
    camera_stats: CameraStats | None,
    last_frame_at: float | None,
    expected: CameraStatus,
    reason: str,
) -> None:
    found = camera_status(camera, worker, camera_stats, now_s=NOW, last_frame_at=last_frame_at)
    assert (found.status, found.reason) == (expected, reason)


def test_drops_are_a_rate_over_the_last_seconds_not_a_count() -> None:
    hub = LiveHub()
    assert hub.dropped_per_s("ward") is None
    for i in range(31):  # 30 s of figures: 20 frames dropped a second, then 2 a second
        dropped = 20 * i if i <= 20 else 400 + 2 * (i - 20)
        hub.put_stats(stats("ward", wall_time=NOW + i, dropped=dropped))
    assert hub.dropped_per_s("ward") == pytest.approx(2.0)
    # A restarted worker counts from zero: no negative rate, and none until 1 s has passed.
    hub.put_stats(stats("ward", wall_time=NOW + 31, dropped=3))
    assert hub.dropped_per_s("ward") is None
    hub.put_stats(stats("ward", wall_time=NOW + 33, dropped=13))
    assert hub.dropped_per_s("ward") == pytest.approx(5.0)
