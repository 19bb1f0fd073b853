"""A real camera worker process under the supervisor: a real clip, a fall, privacy."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fallwatch.config.fall import FallConfig
from fallwatch.config.server import CameraConfig, WorkersConfig
from fallwatch.pipeline.packets import WorkerState
from fallwatch.serve.supervisor import Supervisor
from fallwatch.types import EventKind
from tests.fakes.worker import RecordingListener, wait_for

FALL_CLIP = "videos/upfall/UPFall_S1_A01_T1_Cam2.mp4"


def test_worker_process_sees_a_real_fall_and_keeps_privacy(falls_dir: Path) -> None:
    """A real clip as a looping camera in a spawned worker: packets, then a fall event."""
    cam = CameraConfig(
        id="upfall",
        path=falls_dir / FALL_CLIP,
        loop=True,
        analysis_fps=6,
        fall=FallConfig(confirm_s=2),
        privacy=True,
    )
    listener = RecordingListener()
    sup = Supervisor(WorkersConfig(), listener, poll_s=0.2)
    sup.set_camera(cam)
    sup.start()
    try:
        assert wait_for(
            lambda: any(e.event.kind is EventKind.FALL for e in listener.events), 40.0
        ), (
            listener.messages("upfall"),
            listener.stats[-1:] if listener.stats else None,
        )
        assert sup.report("upfall").state is WorkerState.RUNNING  # type: ignore[union-attr]
    finally:
        sup.stop()
    fall = next(e for e in listener.events if e.event.kind is EventKind.FALL)
    assert fall.event.camera_id == "upfall" and fall.snapshot_jpeg[:2] == b"\xff\xd8"
    assert listener.packets and all(p.raw_jpeg is None for p in listener.packets), (
        "privacy: no raw picture leaves the worker"
    )
    snap = cv2.imdecode(np.frombuffer(fall.snapshot_jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert (snap < 20).mean() > 0.8, "privacy: skeletons on black"
    fps = [s.analysis_fps for s in listener.stats[-5:]]
    assert max(fps) >= 3.0, fps  # target 6 on two shared cores
    assert any(r.state is WorkerState.STOPPED for r in listener.reports)
