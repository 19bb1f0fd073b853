"""Camera workers: the analysis loop in a thread (the spawned processes: tests/serve)."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from fallwatch.config.server import CameraConfig, ReconnectConfig
from fallwatch.pipeline.packets import CameraStats, FramePacket
from fallwatch.pipeline.worker import CameraWorker, WorkerSpec, encode_jpeg
from fallwatch.sources.capture import ConnectionState


def write_video(path: Path, frames: int = 40, fps: float = 20.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (320, 240))
    for i in range(frames):
        writer.write(np.full((240, 320, 3), (i * 5) % 250, np.uint8))
    writer.release()
    return path


def run_in_thread(
    spec: WorkerSpec, seconds: float, raw_wanted: SimpleNamespace | None = None
) -> list[object]:
    """What the worker sent in `seconds`; `raw_wanted.value` (wall time until which the
    raw picture is wanted) may be changed meanwhile by the caller. Default: always."""
    out: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    heartbeat = SimpleNamespace(value=0.0)
    raw = raw_wanted or SimpleNamespace(value=float("inf"))
    worker = CameraWorker(spec, out, heartbeat, stop, raw)  # type: ignore[arg-type]
    thread = threading.Thread(target=worker.run)
    thread.start()
    items = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # drain as the main process does
        with contextlib.suppress(queue.Empty):
            items.append(out.get(timeout=0.1))
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert heartbeat.value > 0
    while not out.empty():
        items.append(out.get())
    return items


def test_worker_analyses_at_its_rate_and_publishes_jpegs_and_stats(
    tmp_path: Path,
) -> None:
    video = write_video(tmp_path / "grey.avi")
    cam = CameraConfig(id="grey", path=video, loop=True, analysis_fps=4, max_width_px=160)
    items = run_in_thread(WorkerSpec(cam, ReconnectConfig()), seconds=4.0)
    packets = [i for i in items if isinstance(i, FramePacket)]
    stats = [i for i in items if isinstance(i, CameraStats)]
    assert stats, "stats are sent every second"
    # Model loading takes part of the 4 s; what matters is not analysing every frame.
    assert 3 <= len(packets) <= 18, len(packets)
    last = packets[-1].stats
    assert last.connection is ConnectionState.CONNECTED
    assert last.dropped > 0 and last.frames > last.analysed
    assert last.target_fps == 4
    image = cv2.imdecode(np.frombuffer(packets[-1].annotated_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (120, 160, 3), "live frames are scaled to max_width_px"
    assert packets[-1].raw_jpeg is not None
    assert [p.seq for p in packets] == sorted(p.seq for p in packets)


def test_worker_sends_the_raw_picture_only_while_it_is_wanted(tmp_path: Path) -> None:
    video = write_video(tmp_path / "grey.avi")
    cam = CameraConfig(id="grey", path=video, loop=True, analysis_fps=8, max_width_px=160)
    raw_wanted = SimpleNamespace(value=0.0)
    received: list[FramePacket] = []
    asked_at: list[float] = []

    def want_raw_for_a_while() -> None:
        # Wanted from the 5th frame for 2 s (as a viewer that comes and goes).
        while len(received) < 5 and not stop.is_set():
            time.sleep(0.02)
        asked_at.append(time.time())
        raw_wanted.value = asked_at[0] + 2.0

    class Recording(queue.Queue[object]):
        def put(self, item: object, block: bool = True, timeout: float | None = None) -> None:
            if isinstance(item, FramePacket):
                received.append(item)
            super().put(item, block, timeout)

    out = Recording()
    stop = threading.Event()
    heartbeat = SimpleNamespace(value=0.0)
    worker = CameraWorker(WorkerSpec(cam, ReconnectConfig()), out, heartbeat, stop, raw_wanted)  # type: ignore[arg-type]
    threads = [threading.Thread(target=worker.run), threading.Thread(target=want_raw_for_a_while)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline and (
        raw_wanted.value == 0.0 or time.time() < raw_wanted.value + 1.0
    ):
        with contextlib.suppress(queue.Empty):
            out.get(timeout=0.1)
    stop.set()
    for t in threads:
        t.join(10)
    until = raw_wanted.value
    assert asked_at, f"only {len(received)} frames came"

    def encoded_by(p: FramePacket) -> float:  # the latency is taken after the encodes
        return p.captured_at + p.stats.latency_ms / 1000

    before = [p for p in received if encoded_by(p) < asked_at[0]]
    during = [p for p in received if p.captured_at > asked_at[0] and encoded_by(p) < until]
    after = [p for p in received if p.captured_at > until]
    assert len(before) >= 4 and all(p.raw_jpeg is None for p in before), "not before asked"
    assert during and all(p.raw_jpeg is not None for p in during), "every frame while wanted"
    assert after and all(p.raw_jpeg is None for p in after), "none once the wish expired"
    assert all(p.annotated_jpeg for p in received)
    image = cv2.imdecode(np.frombuffer(during[0].raw_jpeg or b"", np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (120, 160, 3), "the raw picture is scaled as the annotated one"


def test_worker_reports_a_missing_source_without_crashing(tmp_path: Path) -> None:
    cam = CameraConfig(id="gone", path=tmp_path / "nope.mp4")
    items = run_in_thread(WorkerSpec(cam, ReconnectConfig(initial_s=0.2, max_s=0.5)), seconds=2.5)
    stats = [i for i in items if isinstance(i, CameraStats)]
    assert stats and not any(isinstance(i, FramePacket) for i in items)
    assert stats[-1].connection is ConnectionState.DISCONNECTED
    assert "no such file" in (stats[-1].last_error or "")


def test_encode_jpeg_keeps_small_frames_and_scales_wide_ones() -> None:
    image = np.zeros((100, 400, 3), np.uint8)
    small = cv2.imdecode(np.frombuffer(encode_jpeg(image, 80, 200), np.uint8), cv2.IMREAD_COLOR)
    assert small.shape == (50, 200, 3)
    same = cv2.imdecode(np.frombuffer(encode_jpeg(image, 80, 960), np.uint8), cv2.IMREAD_COLOR)
    assert same.shape == (100, 400, 3)


def write_scene(path: Path, moving: bool, frames: int = 60, fps: float = 20.0) -> Path:
    """A still, smooth 'room' with sensor noise; with `moving`, a dark person-sized block
    crosses it back and forth."""
    rng = np.random.default_rng(3)
    room = cv2.GaussianBlur(rng.integers(60, 200, (240, 320, 3), dtype=np.uint8), (21, 21), 0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (320, 240))
    for i in range(frames):
        frame = np.clip(room + rng.normal(0, 4, room.shape), 0, 255).astype(np.uint8)
        if moving:
            x = 10 + abs((i * 12) % 560 - 280)
            frame[150:210, x : x + 20] = 30
        writer.write(frame)
    writer.release()
    return path


def test_worker_drops_to_idle_fps_on_a_still_scene_and_stays_full_on_motion(
    tmp_path: Path,
) -> None:
    results = {}
    for moving in (False, True):
        video = write_scene(tmp_path / f"scene-{moving}.avi", moving)
        cam = CameraConfig(
            id="gated",
            path=video,
            loop=True,
            analysis_fps=5,
            idle_fps=1,
            motion={"hold_s": 0.5},
            max_width_px=160,
        )
        items = run_in_thread(WorkerSpec(cam, ReconnectConfig()), seconds=6.0)
        packets = [i for i in items if isinstance(i, FramePacket)]
        stats = [i for i in items if isinstance(i, CameraStats)]
        results[moving] = (packets, stats[-1])
    still_packets, still = results[False]
    assert (still.rate_mode, still.rate_reason) == ("idle", "no motion")
    assert still.analysis_fps <= 1.5, still
    # Once idle, one frame a second: count the packets of the last 2.5 s.
    last_t = still_packets[-1].captured_at
    assert len([p for p in still_packets if p.captured_at > last_t - 2.5]) <= 3
    moving_packets, moving_stats = results[True]
    assert (moving_stats.rate_mode, moving_stats.rate_reason) == ("full", "motion")
    last_t = moving_packets[-1].captured_at
    assert len([p for p in moving_packets if p.captured_at > last_t - 2.5]) >= 9
    assert moving_stats.frames > moving_stats.analysed


def test_worker_with_idle_fps_equal_to_analysis_fps_is_not_gated(tmp_path: Path) -> None:
    video = write_scene(tmp_path / "still.avi", moving=False)
    cam = CameraConfig(id="ungated", path=video, loop=True, analysis_fps=4, idle_fps=4)
    items = run_in_thread(WorkerSpec(cam, ReconnectConfig()), seconds=4.0)
    last = [i for i in items if isinstance(i, CameraStats)][-1]
    assert (last.rate_mode, last.rate_reason) == ("full", "gating off")
    assert last.analysis_fps >= 3.0, last
