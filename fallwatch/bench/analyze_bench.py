"""Speed of the `fallwatch analyze` path over whole clips, annotated video written.

Unlike the frame bench this times what a user waits for: `fallwatch analyze`'s own code
path (decode ahead, analysis at the default analysis fps, annotate and H.264 write behind),
per clip, as times faster than real time. Model loading is outside the timing (done once, before the first clip).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.pipeline.analyzer import Analyzer
from fallwatch.pipeline.annotator import Annotator
from fallwatch.pipeline.video_analysis import analyze_video
from fallwatch.sources.sampling import DEFAULT_ANALYSIS_FPS

ANALYZE_STAGES = ("detect", "track", "rules", "annotate", "write")
"""Decoding runs ahead on its own thread and annotate + write behind on another, as in
`fallwatch analyze`, so these overlap and do not add up to the wall time."""


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
                k: round(v / self.frames, 3) if self.frames else None
                for k, v in self.stage_ms.items()
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
        return {
            s: sum(c.stage_ms.get(s, 0.0) for c in self.clips) / self.frames for s in ANALYZE_STAGES
        }

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


class AnalyzeBench:
    """Runs the analyze path over one clip at a time; the detector is shared, the rest fresh."""

    def __init__(
        self,
        detector: Detector,
        fall_config: FallConfig | None = None,
        analysis_fps: float | None = DEFAULT_ANALYSIS_FPS,
    ):
        self.detector = detector
        self.fall_config = fall_config or FallConfig()
        self.analysis_fps = analysis_fps

    def run(self, path: Path, name: str | None = None) -> ClipSpeed:
        """Analyse `path` exactly as `fallwatch analyze` does and write its annotated video
        to a temporary file, deleted after."""
        annotator = Annotator(self.fall_config.zones, self.fall_config.min_keypoint_score)
        with tempfile.TemporaryDirectory(prefix="fallwatch-bench-") as tmp:
            analyzer = Analyzer(self.detector, self.fall_config, camera_id=path.stem)
            out = Path(tmp) / f"{path.stem}.annotated.mp4"
            outcome = analyze_video(path, analyzer, annotator, out, self.analysis_fps)
        stage_ms = dict.fromkeys(ANALYZE_STAGES, 0.0)
        stage_ms.update(outcome.stage_ms)
        return ClipSpeed(
            name=name or str(path),
            frames=outcome.frames,
            video_fps=outcome.video_fps,
            wall_s=outcome.wall_s,
            stage_ms=stage_ms,
        )
