"""The Ray engine's life cycle: start, pause, resume, reconfigure, remove, stop.

What the camera service does through the web UI and API, against real actors on a
one-node Ray cluster, each running a real camera worker on a small file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fallwatch.config.cluster import ClusterConfig
from fallwatch.config.server import CameraConfig, WorkersConfig
from fallwatch.pipeline.packets import WorkerState
from tests.fakes.capture import write_video
from tests.fakes.worker import RecordingListener, wait_for


def _stats_count(listener: RecordingListener, camera_id: str) -> int:
    with listener.lock:
        return sum(1 for s in listener.stats if s.camera_id == camera_id)


def _state(engine: Any, camera_id: str) -> WorkerState | None:
    report = engine.report(camera_id)
    return None if report is None else report.state


def test_pause_resume_reconfigure_remove_and_stop(tmp_path: Path, ray_one_node: Any) -> None:
    from fallwatch.serve.ray_engine import RayEngine

    video = write_video(tmp_path / "room.avi", frames=40, fps=10.0)
    cam = CameraConfig(id="room", path=video, loop=True, analysis_fps=4)
    idle = CameraConfig(id="idle", path=video, loop=True)
    listener = RecordingListener()
    engine = RayEngine(WorkersConfig(), ClusterConfig(engine="ray", poll_s=0.2), listener)
    engine.set_camera(cam)
    engine.set_camera(idle, paused=True)
    engine.start()
    try:
        assert wait_for(lambda: _state(engine, "room") is WorkerState.RUNNING, 90.0), (
            listener.messages("room")
        )
        assert _state(engine, "idle") is WorkerState.PAUSED
        assert _stats_count(listener, "idle") == 0
        first = engine._cameras["room"].actor

        engine.pause("room")
        assert _state(engine, "room") is WorkerState.PAUSED
        count = _stats_count(listener, "room")
        time.sleep(2.0)
        assert _stats_count(listener, "room") == count, "a paused camera sends nothing"
        assert _actor_gone(ray_one_node, first)

        engine.pause("room", False)
        assert wait_for(lambda: _stats_count(listener, "room") > count, 60.0)

        engine.set_camera(cam.model_copy(update={"analysis_fps": 2.0}))
        assert wait_for(lambda: any(s.target_fps == 2.0 for s in list(listener.stats)), 60.0), (
            listener.messages("room")
        )

        engine.remove_camera("room")
        assert engine.camera_ids() == ["idle"] and engine.report("room") is None
        assert listener.messages("room")[-1] == "removed"
    finally:
        engine.stop()
    assert _state(engine, "idle") is WorkerState.STOPPED


def _actor_gone(ray: Any, actor: Any) -> bool:
    try:
        ray.get(actor.drain.remote(0), timeout=10)
    except ray.exceptions.RayActorError:
        return True
    return False


def test_actor_options_spread_pin_and_share() -> None:
    import pytest

    pytest.importorskip("ray", reason="Ray not installed: pip install 'fallwatch[ray]'")
    from fallwatch.serve.ray_engine import RayEngine

    def options(camera_id: str, **cluster: Any) -> dict[str, Any]:
        config = ClusterConfig(engine="ray", **cluster)
        engine = RayEngine(WorkersConfig(), config, RecordingListener())
        return engine._options(CameraConfig(id=camera_id, url="rtsp://10.0.0.5/s1"))

    spread = options("hall", cpus_per_camera=0.25)
    assert spread["scheduling_strategy"] == "SPREAD" and spread["num_cpus"] == 0.25
    assert spread["max_restarts"] == -1, "Ray restarts a camera whose node died"
    pinned = options("dock", camera_resources={"dock": "site-north"})
    assert pinned["resources"] == {"site-north": 1} and "scheduling_strategy" not in pinned
    assert "scheduling_strategy" not in options("hall", placement="pack")


def test_the_actor_sends_the_raw_picture_only_while_the_head_wants_it(
    tmp_path: Path, ray_one_node: Any
) -> None:
    from fallwatch.serve.ray_engine import RayEngine

    video = write_video(tmp_path / "room.avi", frames=40, fps=10.0)
    cam = CameraConfig(id="room", path=video, loop=True, analysis_fps=5)
    listener = RecordingListener()
    engine = RayEngine(WorkersConfig(), ClusterConfig(engine="ray", poll_s=0.2), listener)
    engine.set_camera(cam)
    engine.start()

    def raw_since(t: float) -> list[bool]:
        with listener.lock:
            return [p.raw_jpeg is not None for p in listener.packets if p.captured_at > t]

    try:
        assert wait_for(lambda: len(raw_since(0)) >= 3, 90.0), listener.messages("room")
        assert not any(raw_since(0)), "nobody looks: no raw picture crosses to the head"
        asked = time.time()
        engine.want_raw("room", asked + 2.0)
        engine.want_raw("room", asked + 1.0)  # never cuts a later expiry short
        engine.want_raw("gone", asked + 2.0)  # an unknown camera: nothing to do
        assert wait_for(lambda: any(raw_since(asked)), 10.0), "the next poll carries the wish"
        assert wait_for(lambda: len(raw_since(asked + 2.3)) >= 3, 10.0)
        assert not any(raw_since(asked + 2.3)), "none once the wish expired"
    finally:
        engine.stop()
