from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.config.fall import FallConfig
from fallwatch.detect.registry import build_detector
from fallwatch.evaluation.runner import ClipRunner, Detections, PosesCache
from fallwatch.sources.video import VideoError
from fallwatch.types import Poses


def make_poses(n: int, seed: int) -> Poses:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 300, (n, 2))
    return Poses.create(
        xyxy=np.hstack([xy, xy + rng.uniform(20, 100, (n, 2))]),
        scores=rng.uniform(0, 1, n),
        keypoints=rng.uniform(0, 400, (n, 17, 2)),
        keypoint_scores=rng.uniform(0, 1, (n, 17)),
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"stands in for a video: only its path, size and mtime are read")
    return path


def test_cache_round_trip(tmp_path: Path, source: Path) -> None:
    cache = PosesCache(tmp_path / "cache", PoseDetectorConfig())
    assert cache.load(source) is None
    poses = [make_poses(n, seed) for seed, n in enumerate([2, 0, 1, 3])]
    cache.save(source, Detections(18.0, (640, 480), np.arange(4) / 18.0, poses))
    back = cache.load(source)
    assert back is not None
    assert (back.fps, back.size_wh) == (18.0, (640, 480))
    np.testing.assert_allclose(back.times_s, np.arange(4) / 18.0)
    assert [len(p) for p in back.poses] == [2, 0, 1, 3]
    for a, b in zip(poses, back.poses, strict=True):
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        np.testing.assert_array_equal(a.keypoint_scores, b.keypoint_scores)
        np.testing.assert_array_equal(a.fallen_scores, b.fallen_scores)  # NaN == NaN here
    assert not list((tmp_path / "cache").glob("*.part"))


def test_cache_key_follows_detector_config_and_file(tmp_path: Path, source: Path) -> None:
    a = PosesCache(tmp_path, PoseDetectorConfig())
    b = PosesCache(tmp_path, PoseDetectorConfig(min_person_score=0.3))
    assert a.path_for(source) != b.path_for(source)
    assert a.path_for(source) == PosesCache(tmp_path, PoseDetectorConfig()).path_for(source)
    before = a.path_for(source)
    source.write_bytes(b"a different clip now")
    assert a.path_for(source) != before


def test_unreadable_cache_file_is_a_miss(tmp_path: Path, source: Path) -> None:
    cache = PosesCache(tmp_path, PoseDetectorConfig())
    cache.path_for(source).write_bytes(b"truncated")
    assert cache.load(source) is None


@pytest.fixture(scope="module")
def pose_detector():  # type: ignore[no-untyped-def]
    return build_detector(PoseDetectorConfig())


def test_missing_clip_is_a_video_error(tmp_path: Path, pose_detector) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VideoError, match="no such file"):
        ClipRunner(pose_detector, FallConfig()).run(tmp_path / "nope.mp4")


def test_replay_from_cache_gives_the_same_alerts(
    tmp_path: Path, falls_data: Path, pose_detector
) -> None:  # type: ignore[no-untyped-def]
    clip = falls_data / "videos/upfall/UPFall_S1_A01_T1_Cam1.mp4"
    runner = ClipRunner(
        pose_detector,
        FallConfig(confirm_s=2.0),
        PosesCache(tmp_path, PoseDetectorConfig()),
    )
    live = runner.run(clip)
    replay = runner.run(clip)
    assert not live.cached and replay.cached
    assert live.frames == replay.frames == 142 and live.fps == replay.fps == 18.0
    assert live.alerts == replay.alerts and live.alerts, "this clip's fall is alerted"
    np.testing.assert_array_equal(live.max_down_score, replay.max_down_score)
    np.testing.assert_array_equal(live.times_s, replay.times_s)
    # A rules change applies to the replay: a confirm time longer than the clip, no alert.
    slow = ClipRunner(pose_detector, FallConfig(confirm_s=30.0), runner.cache).run(clip)
    assert slow.cached and not slow.alerts


def test_hybrid_is_composed_from_cached_pose_and_yolo_outputs(tmp_path: Path, source: Path) -> None:
    """A hybrid miss with both models' outputs cached gives what the real hybrid detector
    gives on those outputs, and nothing when either part is missing or differs."""
    from fallwatch.config.detector import HybridDetectorConfig, YoloDetectorConfig
    from fallwatch.detect.hybrid import HybridDetector
    from fallwatch.types import Frame

    hybrid = HybridDetectorConfig(yolo=YoloDetectorConfig(format="hfd"))
    times = np.arange(6) / 12.0
    # Frame 2 has a lying person (wide box, so YOLO is asked), the others nobody.
    lying = Poses.create(xyxy=[[100, 300, 300, 380]], keypoints=np.full((1, 17, 2), 200.0))
    pose = [Poses.empty(), Poses.empty(), lying, Poses.empty(), Poses.empty(), Poses.empty()]
    fallen = Poses.create(xyxy=[[95, 295, 305, 385]], scores=[0.7], fallen_scores=[0.7])
    yolo = [fallen] * 6
    cache = PosesCache(tmp_path, hybrid, 12.0)
    assert cache.load(source) is None
    PosesCache(tmp_path, hybrid.pose, 12.0).save(source, Detections(18.0, (640, 480), times, pose))
    assert cache.load(source) is None  # the YOLO part is missing
    PosesCache(tmp_path, hybrid.yolo, 12.0).save(source, Detections(18.0, (640, 480), times, yolo))
    composed = cache.load(source)
    assert composed is not None and (composed.fps, composed.size_wh) == (18.0, (640, 480))

    class Fixed:
        def __init__(self, out: list[Poses], name: str) -> None:
            self.out, self.name = out, name

        def detect(self, frame: Frame) -> Poses:
            return self.out[frame.index]

    live = HybridDetector(hybrid, pose=Fixed(pose, "pose"), yolo=Fixed(yolo, "yolo"))
    blank = np.zeros((480, 640, 3), np.uint8)
    expected = [live.detect(Frame(blank, float(t), k)) for k, t in enumerate(times)]
    assert [len(p) for p in composed.poses] == [len(p) for p in expected] == [0, 0, 1, 1, 1, 1]
    for a, b in zip(composed.poses, expected, strict=True):
        np.testing.assert_array_equal(a.xyxy, b.xyxy)
        np.testing.assert_array_equal(a.fallen_scores, b.fallen_scores)
    assert composed.poses[2].fallen_scores[0] == pytest.approx(0.7)  # YOLO agrees
    assert np.isnan(composed.poses[3].keypoints).all()  # handed off to YOLO's box

    # Other frames in the YOLO entry (another analysis rate, say): no composition.
    PosesCache(tmp_path, hybrid.yolo, 12.0).save(
        source, Detections(18.0, (640, 480), times[:5], yolo[:5])
    )
    assert cache.load(source) is None


def test_zoom_settings_do_not_change_the_cache_key(tmp_path: Path, source: Path) -> None:
    """The main pass's raw detections do not depend on zoom: one cache entry serves all."""
    from fallwatch.config.detector import (
        HybridDetectorConfig,
        YoloDetectorConfig,
        ZoomConfig,
    )

    plain = PosesCache(tmp_path, PoseDetectorConfig()).path_for(source)
    no_zoom = PoseDetectorConfig(zoom=ZoomConfig(enabled=False, margin=2.5))
    assert PosesCache(tmp_path, no_zoom).path_for(source) == plain
    yolo = YoloDetectorConfig(format="hfd")
    assert PosesCache(tmp_path, HybridDetectorConfig(yolo=yolo)).path_for(source) == PosesCache(
        tmp_path, HybridDetectorConfig(yolo=yolo, pose=no_zoom)
    ).path_for(source)


def test_cached_replay_runs_the_zoom_live(tmp_path: Path, falls_data: Path) -> None:
    """A replay with zoom on decodes the frames and zooms as the live run did; the same
    cache entry replayed with zoom off gives the main pass alone, which differs on this
    clip (a distant person the main pass loses as they fall, found again by the zoom)."""
    from fallwatch.config.detector import ZoomConfig

    clip = falls_data.parent / "falls2/videos/kavyapahuja_fall/test_fall.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not found (falls2 data set absent)")
    fall = FallConfig(confirm_s=2.0)
    zoom_on = build_detector(PoseDetectorConfig())
    cache = PosesCache(tmp_path, PoseDetectorConfig(), 12.0)
    live = ClipRunner(zoom_on, fall, cache, analysis_fps=12.0).run(clip)
    replay = ClipRunner(zoom_on, fall, cache, analysis_fps=12.0).run(clip)
    assert not live.cached and replay.cached
    np.testing.assert_array_equal(live.times_s, replay.times_s)
    np.testing.assert_array_equal(live.max_down_score, replay.max_down_score)
    assert live.alerts == replay.alerts
    assert replay.stage_ms["zoom"] > 0

    zoom_off = build_detector(PoseDetectorConfig(zoom=ZoomConfig(enabled=False)))
    main_only = ClipRunner(zoom_off, fall, cache, analysis_fps=12.0).run(clip)
    assert main_only.cached and "zoom" not in main_only.stage_ms
    # Frames with somebody tracked: the zoom keeps the fallen person in view.
    assert (
        np.isfinite(replay.max_down_score).sum() > np.isfinite(main_only.max_down_score).sum() + 20
    )
