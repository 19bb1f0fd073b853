"""Pure pieces of the bench: statistics, targets, sizes, detector settings."""

import pytest

from fallwatch.bench.stats import StageStats
from fallwatch.bench.targets import Target, Verdict, analyze_targets, frame_targets
from fallwatch.commands.bench import bench_detector_config, parse_wh
from fallwatch.config.detector import HybridDetectorConfig, PoseDetectorConfig


@pytest.mark.parametrize(
    ("samples", "mean", "p50"),
    [([1.0], 1.0, 1.0), ([1.0, 2.0, 3.0], 2.0, 2.0), ([0.5, 0.5, 0.5, 10.5], 3.0, 0.5)],
)
def test_stage_stats(samples: list[float], mean: float, p50: float) -> None:
    s = StageStats.of(samples)
    assert s.mean_ms == pytest.approx(mean)
    assert s.p50_ms == pytest.approx(p50)
    assert s.p50_ms <= s.p95_ms <= max(samples)
    assert s.frames == len(samples)


def test_stage_stats_needs_samples() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        StageStats.of([])


@pytest.mark.parametrize(
    ("measured", "limit", "at_least", "verdict"),
    [
        (31.0, 30.0, True, Verdict.PASS),
        (30.0, 30.0, True, Verdict.PASS),
        (29.9, 30.0, True, Verdict.FAIL),
        (399.0, 400.0, False, Verdict.PASS),
        (401.0, 400.0, False, Verdict.FAIL),
    ],
)
def test_target_verdict(measured: float, limit: float, at_least: bool, verdict: Verdict) -> None:
    t = Target("x", measured, limit, "u", at_least=at_least)
    assert t.verdict == verdict
    assert t.describe().startswith(verdict.value)


def test_fps_target_applies_to_640x480_only() -> None:
    on_size, memory = frame_targets(10.0, 100.0, (640, 480))
    assert on_size.verdict == Verdict.FAIL and memory.verdict == Verdict.PASS
    off_size, _ = frame_targets(10.0, 100.0, (1280, 720))
    assert off_size.verdict == Verdict.NOT_APPLICABLE
    assert "1280x720" in off_size.describe()


def test_analyze_target() -> None:
    (t,) = analyze_targets(3.5)
    assert t.verdict == Verdict.PASS


@pytest.mark.parametrize(("text", "wh"), [("256x192", (256, 192)), ("320X256", (320, 256))])
def test_parse_wh(text: str, wh: tuple[int, int]) -> None:
    assert parse_wh(text) == wh


@pytest.mark.parametrize("text", ["256", "256x", "ax192", "256*192", "-256x192"])
def test_parse_wh_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_wh(text)


def test_detector_config_takes_threads_and_size() -> None:
    cfg = bench_detector_config("pose", 3, (320, 256))
    assert isinstance(cfg, PoseDetectorConfig)
    assert (cfg.num_threads, cfg.input_wh) == (3, (320, 256))


def test_hybrid_config_threads_both_models() -> None:
    cfg = bench_detector_config("hybrid", 1, (320, 256))
    assert isinstance(cfg, HybridDetectorConfig)
    assert (cfg.pose.num_threads, cfg.yolo.num_threads, cfg.pose.input_wh) == (1, 1, (320, 256))


@pytest.mark.parametrize(
    ("threads", "wh", "match"), [(0, None, "threads"), (2, (250, 192), "multiples of 32")]
)
def test_detector_config_rejects(threads: int, wh: tuple[int, int] | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        bench_detector_config("pose", threads, wh)


def test_zoom_effect_counts_looks_and_down_score_changes() -> None:
    from pathlib import Path

    from fallwatch.bench.frame_bench import FrameBenchReport
    from fallwatch.bench.zoom_compare import zoom_effect
    from fallwatch.detect.zoom import ZoomAction, ZoomLook
    from fallwatch.sources.video import VideoInfo

    nan = float("nan")
    info = VideoInfo(Path("x.mp4"), 640, 480, 10.0, 4)

    def report(
        down: tuple[float, ...], looks: tuple[tuple[ZoomLook, ...], ...]
    ) -> FrameBenchReport:
        return FrameBenchReport(info, 4, 0, {}, 1.0, True, 1.0, looks, down)

    added = ZoomLook(1, (0, 0, 10, 10), ZoomAction.ADDED, 0, 15)
    kept = ZoomLook(1, (0, 0, 10, 10), ZoomAction.KEPT, 17, 12)
    off = report((0.1, 0.2, nan, nan), ())
    on = report((0.1, 0.5, 0.7, nan), ((), (kept,), (added,), ()))
    effect = zoom_effect(off, on)
    assert (
        effect["looks"] == 2 and effect["actions"]["added"] == 1 and effect["actions"]["kept"] == 1
    )
    assert effect["looks_with_more_keypoints"] == 1 and effect["mean_keypoints_gained"] == 15
    assert effect["frames_with_someone_tracked"] == {"off": 2, "on": 3}
    assert effect["frames_down_score_changed"] == 1  # frame 1; frame 2 had nobody before
    assert effect["frames_judged_down"] == {"off": 0, "on": 1}


def test_zoom_targets() -> None:
    from fallwatch.bench.targets import zoom_targets

    cost, fps = zoom_targets(12.0, 31.0, (640, 480))
    assert cost.verdict == Verdict.PASS and fps.verdict == Verdict.PASS
    assert zoom_targets(45.0, 20.0, (640, 360))[0].verdict == Verdict.FAIL
    assert zoom_targets(45.0, 20.0, (640, 360))[1].verdict == Verdict.NOT_APPLICABLE
