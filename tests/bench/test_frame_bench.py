"""The frame bench on synthetic clips with a fake detector (no model)."""

from pathlib import Path

import pytest

from fallwatch.bench.frame_bench import STAGES, FrameBench, LoopingVideo
from fallwatch.types import Frame, Poses


class FakeDetector:
    """Finds nobody; has no preprocess/infer/decode split, like the YOLO detector."""

    name = "fake"

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frame: Frame) -> Poses:
        self.calls += 1
        return Poses.empty()


def test_looping_video_starts_over(tiny_video: Path) -> None:
    video = LoopingVideo(tiny_video, loop=True)
    levels = [int(video.read().image[0, 0, 0]) for _ in range(12)]  # type: ignore[union-attr]
    video.close()
    # Frame i is grey 10 * i (give or take the codec), so the 6th read is frame 0 again.
    assert levels[5] == pytest.approx(levels[0], abs=3)
    assert levels[4] > levels[0]


def test_looping_video_stops_when_not_looping(tiny_video: Path) -> None:
    video = LoopingVideo(tiny_video, loop=False)
    frames = []
    while (decoded := video.read()) is not None:
        assert decoded.decode_ms > 0
        frames.append(decoded)
    video.close()
    assert len(frames) == 5


def test_frame_bench_whole_clip_after_warmup(tiny_video: Path) -> None:
    detector = FakeDetector()
    report = FrameBench(detector).run(tiny_video, frames=None, warmup=3)
    assert report.frames == 5  # the clip once through; warm-up frames are not counted
    assert detector.calls == 8
    # No split: preprocess and postprocess are inside inference.
    assert list(report.stages) == [
        s for s in STAGES if s not in ("preprocess", "postprocess", "zoom")
    ]
    assert not report.detector_split
    assert all(s.mean_ms > 0 for s in report.stages.values())
    assert report.fps > 0 and report.x_realtime == pytest.approx(report.fps / report.video.fps)


def test_frame_bench_loops_past_the_end(tiny_video: Path) -> None:
    report = FrameBench(FakeDetector()).run(tiny_video, frames=12, warmup=0)
    assert report.frames == 12
    assert report.as_dict()["end_to_end"]["fps"] > 0


@pytest.mark.parametrize(("frames", "warmup", "match"), [(0, 0, "frames"), (5, -1, "warmup")])
def test_frame_bench_rejects(tiny_video: Path, frames: int, warmup: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FrameBench(FakeDetector()).run(tiny_video, frames=frames, warmup=warmup)
