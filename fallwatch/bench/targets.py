"""The speed and memory targets of issue 2, checked against measured figures."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MIN_END_TO_END_FPS = 30.0
"""Whole chain, one camera, on a 640x480 clip."""
TARGET_FRAME_WH = (640, 480)
MAX_PEAK_RSS_MB = 400.0
MAX_ZOOM_ADDED_CPU_PERCENT = 30.0
"""What the zoomed second look may add to a camera's CPU time on a clip with small people."""
MIN_ANALYZE_X_REALTIME = 3.0
"""`fallwatch analyze` over the dev clips, annotated video written."""


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    NOT_APPLICABLE = "N/A"


@dataclass(frozen=True)
class Target:
    name: str
    measured: float
    limit: float
    unit: str
    at_least: bool
    """True: measured must be >= limit; False: <= limit."""
    applies: bool = True
    why_not: str = ""

    @property
    def verdict(self) -> Verdict:
        if not self.applies:
            return Verdict.NOT_APPLICABLE
        ok = self.measured >= self.limit if self.at_least else self.measured <= self.limit
        return Verdict.PASS if ok else Verdict.FAIL

    def describe(self) -> str:
        op = ">=" if self.at_least else "<="
        line = f"{self.verdict:<4} {self.name}: {self.measured:.1f} {self.unit} (target {op} {self.limit:g} {self.unit})"
        return line + (f" - {self.why_not}" if self.why_not else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "measured": round(self.measured, 3),
            "limit": self.limit,
            "unit": self.unit,
            "at_least": self.at_least,
            "verdict": self.verdict.value,
            **({"why_not": self.why_not} if self.why_not else {}),
        }


def frame_targets(fps: float, peak_rss_mb: float, frame_wh: tuple[int, int]) -> list[Target]:
    on_target_size = frame_wh == TARGET_FRAME_WH
    return [
        Target(
            "end-to-end",
            fps,
            MIN_END_TO_END_FPS,
            "fps",
            at_least=True,
            applies=on_target_size,
            why_not=""
            if on_target_size
            else f"the target is for 640x480, this clip is {frame_wh[0]}x{frame_wh[1]}",
        ),
        Target("peak memory", peak_rss_mb, MAX_PEAK_RSS_MB, "MB", at_least=False),
    ]


def analyze_targets(x_realtime: float) -> list[Target]:
    return [
        Target("analyze path", x_realtime, MIN_ANALYZE_X_REALTIME, "x real time", at_least=True)
    ]


def zoom_targets(
    added_cpu_percent: float, fps_with_zoom: float, frame_wh: tuple[int, int]
) -> list[Target]:
    """The zoom's CPU cost, and the end-to-end speed with it on (640x480 clips only)."""
    return [
        Target(
            "zoom CPU cost", added_cpu_percent, MAX_ZOOM_ADDED_CPU_PERCENT, "% CPU", at_least=False
        ),
        frame_targets(fps_with_zoom, 0.0, frame_wh)[0],
    ]
