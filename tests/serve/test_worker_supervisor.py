"""The supervisor restarts crashed and stalled workers and obeys pause/remove (real processes)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fallwatch.config.server import CameraConfig, WorkersConfig
from fallwatch.pipeline.packets import WorkerState
from fallwatch.serve.supervisor import Supervisor
from tests.fakes import worker as worker_fakes
from tests.fakes.worker import RecordingListener, wait_for

CAM = CameraConfig(id="cam", path=Path("unused.mp4"))


def supervisor(target: object, **workers: float) -> tuple[Supervisor, RecordingListener]:
    listener = RecordingListener()
    cfg = WorkersConfig(**{"stall_s": 2.0, "restart_backoff_max_s": 1.0, **workers})
    sup = Supervisor(cfg, listener, target=target, poll_s=0.1)  # type: ignore[arg-type]
    return sup, listener


def test_crashed_worker_is_restarted_and_reported() -> None:
    sup, listener = supervisor(worker_fakes.crash_after_stats)
    sup.set_camera(CAM)
    sup.start()
    try:
        assert wait_for(lambda: sup.report("cam").restarts >= 2, 20.0), listener.messages("cam")  # type: ignore[union-attr]
    finally:
        sup.stop()
    crashes = [m for m in listener.messages("cam") if "exited with code 3" in m]
    assert crashes and "restarting in" in crashes[0]
    assert any(r.state is WorkerState.RUNNING for r in listener.reports), "it ran before it crashed"


def test_stalled_worker_is_killed_and_restarted() -> None:
    sup, listener = supervisor(worker_fakes.stall_after_stats)
    sup.set_camera(CAM)
    sup.start()
    try:
        assert wait_for(lambda: sup.report("cam").restarts >= 1, 20.0), listener.messages("cam")  # type: ignore[union-attr]
        first_pid = None
        assert wait_for(lambda: sup.pid("cam") is not None, 10.0)
        first_pid = sup.pid("cam")
    finally:
        sup.stop()
    assert first_pid is not None
    assert any("stalled: no heartbeat" in m for m in listener.messages("cam"))


def test_worker_that_cannot_start_says_why() -> None:
    sup, listener = supervisor(worker_fakes.fail_to_start)
    sup.set_camera(CAM)
    sup.start()
    try:
        assert wait_for(
            lambda: any("model file missing" in m for m in listener.messages("cam")),
            20.0,
        )
    finally:
        sup.stop()
    assert sup.report("cam").state is WorkerState.STOPPED  # type: ignore[union-attr]


def test_pause_resume_and_remove() -> None:
    sup, _ = supervisor(worker_fakes.healthy)
    other = CAM.model_copy(update={"id": "other"})
    sup.set_camera(CAM)
    sup.set_camera(other)
    sup.start()
    try:
        assert wait_for(lambda: sup.report("cam").state is WorkerState.RUNNING, 20.0)  # type: ignore[union-attr]
        assert wait_for(lambda: sup.report("other").state is WorkerState.RUNNING, 20.0)  # type: ignore[union-attr]
        sup.pause("cam")
        assert sup.report("cam").state is WorkerState.PAUSED and sup.pid("cam") is None  # type: ignore[union-attr]
        sup.pause("cam", False)
        assert wait_for(lambda: sup.report("cam").state is WorkerState.RUNNING, 20.0)  # type: ignore[union-attr]
        sup.remove_camera("cam")
        assert sup.report("cam") is None and sup.camera_ids() == ["other"]
        assert sup.report("other").state is WorkerState.RUNNING  # type: ignore[union-attr]
        assert sup.report("other").restarts == 0  # type: ignore[union-attr]
        sup.set_camera(other.model_copy(update={"enabled": False}))
        assert sup.report("other").state is WorkerState.PAUSED  # type: ignore[union-attr]
    finally:
        sup.stop()


def test_stop_returns_when_a_dead_worker_left_the_stop_flag_locked() -> None:
    # systemd (and `timeout`) send SIGTERM to the whole process group: a worker may die
    # inside the shared stop flag's lock, and setting the flag would then wait for ever.
    sup, listener = supervisor(worker_fakes.die_holding_the_stop_flag, restart_backoff_max_s=30.0)
    sup.set_camera(CAM)
    sup.start()
    assert wait_for(lambda: any("exited" in m for m in listener.messages("cam")), 20.0), (
        listener.messages("cam")
    )
    stopper = threading.Thread(target=sup.stop, daemon=True)
    stopper.start()
    stopper.join(20.0)
    assert not stopper.is_alive(), "Supervisor.stop() hung on the locked stop flag"


def test_the_raw_picture_flows_while_wanted_and_across_a_restart() -> None:
    sup, listener = supervisor(worker_fakes.raw_on_demand)
    sup.set_camera(CAM)
    sup.start()

    def raw_since(t: float) -> list[bool]:
        with listener.lock:
            return [p.raw_jpeg is not None for p in listener.packets if p.captured_at > t]

    try:
        assert wait_for(lambda: len(raw_since(0)) >= 5, 20.0), listener.messages("cam")
        assert not any(raw_since(0)), "nobody asked"
        asked = time.time()
        sup.want_raw("cam", asked + 1.0)
        sup.want_raw("cam", asked + 0.5)  # an earlier expiry never cuts a later one short
        sup.want_raw("nope", asked + 1.0)  # an unknown camera: nothing to do
        assert wait_for(lambda: any(raw_since(asked)), 5.0)
        assert wait_for(lambda: len(raw_since(asked + 1.2)) >= 3, 5.0)
        assert not any(raw_since(asked + 1.2)), "it stops when the wish expires"
        # A worker started while it is wanted (resumed, restarted) starts sending it.
        sup.want_raw("cam", time.time() + 30.0)
        sup.pause("cam")
        paused_at = time.time()
        sup.pause("cam", False)
        assert wait_for(lambda: len(raw_since(paused_at)) >= 3, 20.0)
        assert all(raw_since(paused_at))
    finally:
        sup.stop()
