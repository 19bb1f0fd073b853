"""Snapshots, clips and retention on disk; the live hub's ring buffer."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from fallwatch.config.loader import load_server_config
from fallwatch.config.server import RecordingConfig
from fallwatch.pipeline.packets import CameraStats, FramePacket
from fallwatch.serve.live import ClipFrame, LiveHub
from fallwatch.serve.media import MediaStore
from fallwatch.sources.capture import ConnectionState
from tests.fakes.media import probe


def jpeg(level: int) -> bytes:
    return cv2.imencode(".jpg", np.full((48, 64, 3), level, np.uint8))[1].tobytes()


def test_snapshot_and_clip_are_written_and_playable(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media", RecordingConfig())
    base = media.base_path("ward-1", 1_700_000_000.25)
    assert base.parent.name == "2023-11-14" and base.parent.parent.name == "ward-1"
    snap = media.save_snapshot(base, jpeg(100))
    assert snap.read_bytes()[:2] == b"\xff\xd8"
    assert media.base_path("ward-1", 1_700_000_000.25) != base, (
        "a second event in the same ms gets its own name"
    )
    frames = [ClipFrame(1000.0 + i / 5, jpeg(i * 20)) for i in range(10)]
    clip = media.write_clip(media.clip_path(base), frames)
    assert clip is not None and clip.suffix == ".mp4"
    assert not clip.with_name(clip.stem + ".tmp.mp4").exists()
    played = probe(clip)  # H.264 in MP4: every browser plays it, phones included
    assert (played.codec, played.pix_fmt, played.frames) == ("h264", "yuv420p", 10)
    assert played.moov_first
    cap = cv2.VideoCapture(str(clip))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 10 and abs(cap.get(cv2.CAP_PROP_FPS) - 5) < 0.5
    assert media.write_clip(tmp_path / "media" / "one.webm", frames[:1]) is None
    assert media.contains(snap) == snap.resolve()
    assert media.contains(tmp_path / "elsewhere.jpg") is None
    assert media.contains(str(tmp_path / "media" / ".." / "x.jpg")) is None


def test_retention_deletes_old_files_then_the_oldest_beyond_the_budget(tmp_path: Path) -> None:
    media = MediaStore(tmp_path / "media", RecordingConfig(retention_days=1, max_total_mb=0.25))
    now = time.time()
    paths = []
    for i, age_h in enumerate([48, 3, 2, 1]):
        p = media.save_snapshot(media.base_path("cam", now - i), b"\xff\xd8" + bytes(100_000))
        os.utime(p, (now - age_h * 3600, now - age_h * 3600))
        paths.append(p)
    removed = media.enforce_retention(now)
    # 48 h old: past retention. Then 3 x 100 kB > 250 kB: the oldest of the rest goes.
    assert removed == 2
    assert [p.exists() for p in paths] == [False, False, True, True]


def test_the_demo_config_keeps_a_day_of_media_at_most(tmp_path: Path) -> None:
    # The example's looping demo camera raises an event every few seconds.
    repo = Path(__file__).resolve().parents[2]
    config = load_server_config(repo / "fallwatch.example.yaml", env={})
    assert config.recording.retention_days <= 1 and config.recording.max_total_mb <= 1024
    media = MediaStore(tmp_path / "media", config.recording)
    now = time.time()
    kept, gone = (media.save_snapshot(media.base_path("demo", now - i), jpeg(9)) for i in (1, 2))
    os.utime(kept, (now - 23 * 3600, now - 23 * 3600))
    os.utime(gone, (now - 25 * 3600, now - 25 * 3600))
    assert media.enforce_retention(now) == 1 and kept.exists() and not gone.exists()


def test_live_hub_keeps_the_newest_frame_and_a_short_past() -> None:
    hub = LiveHub(ring_s=2.0)
    stats = CameraStats(
        "cam", ConnectionState.CONNECTED, 5, 5, 25, 1, 1, 0, 1, 1, 0, None, None, 0, 0
    )
    t0 = 1000.0
    for i in range(30):
        hub.put_packet(FramePacket("cam", i, t0 + i * 0.2, jpeg(i), None, stats))
    assert hub.latest("cam").seq == 29  # type: ignore[union-attr]
    recent = hub.recent("cam", since=0)
    assert recent[-1].captured_at == t0 + 29 * 0.2
    assert recent[-1].captured_at - recent[0].captured_at <= 2.0
    assert [f.captured_at for f in hub.recent("cam", since=t0 + 5.0)] == [
        t0 + i * 0.2 for i in range(25, 30)
    ]
    hub.forget("cam")
    assert hub.latest("cam") is None and hub.recent("cam", 0) == []
