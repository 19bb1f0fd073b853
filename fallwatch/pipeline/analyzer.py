"""One camera's analysis chain: detect -> track -> classify, with per-stage timing."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.fall.classifier import FallClassifier
from fallwatch.track.tracker import PersonTracker
from fallwatch.types import FallUpdate, Frame, Poses


@dataclass(frozen=True)
class FrameResult:
    """Everything known about one analysed frame."""

    frame: Frame
    poses: Poses
    """Tracked people (track_ids set)."""
    update: FallUpdate
    timings_ms: dict[str, float] = field(default_factory=dict)


class Analyzer:
    """Runs the detector, tracker and fall classifier of one camera, frame by frame."""

    def __init__(
        self,
        detector: Detector,
        fall_config: FallConfig | None = None,
        camera_id: str = "default",
        tracker: PersonTracker | None = None,
    ):
        self.detector = detector
        self.tracker = tracker or PersonTracker()
        self.classifier = FallClassifier(fall_config, camera_id=camera_id)

    def reset(self) -> None:
        self.tracker.reset()
        self.classifier.reset()

    def process(self, frame: Frame) -> FrameResult:
        t0 = time.perf_counter()
        poses = self.detector.detect(frame)
        t1 = time.perf_counter()
        tracked = self.tracker.update(poses, frame.t_s)
        t2 = time.perf_counter()
        update = self.classifier.update(tracked, frame.t_s)
        t3 = time.perf_counter()
        return FrameResult(
            frame=frame,
            poses=tracked,
            update=update,
            timings_ms={
                "detect": (t1 - t0) * 1000,
                "track": (t2 - t1) * 1000,
                "rules": (t3 - t2) * 1000,
            },
        )

    def run(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        for frame in frames:
            yield self.process(frame)
