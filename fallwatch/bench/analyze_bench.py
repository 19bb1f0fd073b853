"""Speed of the `fallwatch analyze` path over whole clips, annotated video written.

Unlike the frame bench this times what a user waits for: decode, detect, track, rules,
annotate and `cv2.VideoWriter` (mp4v, as `analyze` writes), per clip, as times faster
than real time. Model loading is outside the timing (done once, before the first clip).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.pipeline.analyzer import Analyzer
from fallwatch.pipeline.annotator import Annotator
from fallwatch.sources.video import iter_video, probe_video
from fallwatch.types import Frame

ANALYZE_STAGES = ("decode", "detect", "track", "rules", "annotate", "write")


@dataclass(frozen=True)
class ClipSpeed:
    """How long the analyze path took on one clip."""

    name: str
    frames: int
    video_fps: float
    wall_s: float
    stage_ms: dict[str, float]
    """Total milliseconds per stage over the clip (`ANALYZE_STAGES`)."""

    @property
    def duration_s(self) -> float:
        return self.frames / self.video_fps if self.video_fps > 0 else 0.0

    @property
    def x_realtime(self) -> float:
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "frames": self.frames,
            "duration_s": round(self.duration_s, 3),
            "wall_s": round(self.wall_s, 3),
            "fps": round(self.fps, 2),
            "x_realtime": round(self.x_realtime, 3),
            "ms_per_frame": {
                k: round(v / self.frames, 3) if self.frames else None for k, v in self.stage_ms.items()
            },
        }


@dataclass(frozen=True)
class ManifestSpeed:
    clips: Sequence[ClipSpeed]

    @property
    def frames(self) -> int:
        return sum(c.frames for c in self.clips)

    @property
    def duration_s(self) -> float:
        return sum(c.duration_s for c in self.clips)

    @property
    def wall_s(self) -> float:
        return sum(c.wall_s for c in self.clips)

    @property
    def x_realtime(self) -> float:
        """Total video seconds over total processing seconds (long clips weigh more)."""
        return self.duration_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def stage_ms_per_frame(self) -> dict[str, float]:
        if not self.frames:
            return {}
        return {s: sum(c.stage_ms.get(s, 0.0) for c in self.clips) / self.frames for s in ANALYZE_STAGES}

    def as_dict(self) -> dict[str, Any]:
        return {
            "clips": [c.as_dict() for c in self.clips],
            "total": {
                "clips": len(self.clips),
                "frames": self.frames,
                "duration_s": round(self.duration_s, 3),
                "wall_s": round(self.wall_s, 3),
                "fps": round(self.fps, 2),
                "x_realtime": round(self.x_realtime, 3),
                "ms_per_frame": {k: round(v, 3) for k, v in self.stage_ms_per_frame().items()},
            },
        }


@dataclass
class _Total:
    ms: float = 0.0


def _timed_frames(frames: Iterator[Frame], decode: _Total) -> Iterator[Frame]:
    """Passes frames on, adding the time each `next()` took (the decode) to `decode`."""
    while True:
        t0 = time.perf_counter()
        frame = next(frames, None)
        decode.ms += (time.perf_counter() - t0) * 1000
        if frame is None:
            return
        yield frame


class AnalyzeBench:
    """Runs the analyze path over one clip at a time; the detector is shared, the rest fresh."""

    def __init__(self, detector: Detector, fall_config: FallConfig | None = None):
        self.detector = detector
        self.fall_config = fall_config or FallConfig()

    def run(self, path: Path, name: str | None = None) -> ClipSpeed:
        """Analyse `path` and write its annotated video to a temporary file, deleted after."""
        annotator = Annotator(self.fall_config.zones, self.fall_config.min_keypoint_score)
        stage_ms = dict.fromkeys(ANALYZE_STAGES, 0.0)
        decode = _Total()
        frames = 0
        with tempfile.TemporaryDirectory(prefix="fallwatch-bench-") as tmp:
            started = time.perf_counter()
            info = probe_video(path)
            analyzer = Analyzer(self.detector, self.fall_config, camera_id=path.stem)
            out = Path(tmp) / f"{path.stem}.annotated.mp4"
            writer = cv2.VideoWriter(
                str(out), cv2.VideoWriter_fourcc(*"mp4v"), info.fps, (info.width, info.height)
            )
            if not writer.isOpened():
                raise ValueError(f"{out}: cannot open for writing")
            try:
                for result in analyzer.run(_timed_frames(iter_video(path, camera_id=path.stem), decode)):
                    t0 = time.perf_counter()
                    image = annotator.annotate(result.frame.image, result.poses, result.update)
                    t1 = time.perf_counter()
                    writer.write(image)
                    t2 = time.perf_counter()
                    stage_ms["annotate"] += (t1 - t0) * 1000
                    stage_ms["write"] += (t2 - t1) * 1000
                    for stage, ms in result.timings_ms.items():
                        stage_ms[stage] = stage_ms.get(stage, 0.0) + ms
                    frames += 1
            finally:
                # Flushing the file is part of what `analyze` costs.
                writer.release()
            wall_s = time.perf_counter() - started
        stage_ms["decode"] = decode.ms
        return ClipSpeed(
            name=name or str(path),
            frames=frames,
            video_fps=info.fps,
            wall_s=wall_s,
            stage_ms=stage_ms,
        )
