"""Motion gate config: when a camera with nothing happening is analysed at its idle rate."""

from __future__ import annotations

from pydantic import Field

from fallwatch.config.base import Section


class MotionConfig(Section):
    """How `fallwatch.pipeline.motion.MotionGate` judges motion on a small grey copy of
    each frame (a running background; the share of pixels that differ from it)."""

    enabled: bool = Field(
        True,
        description="False: the camera is analysed at analysis_fps all the time (as is "
        "the case whenever idle_fps equals analysis_fps).",
    )
    min_changed_share: float = Field(
        0.002,
        gt=0,
        le=0.5,
        description="Share of the picture, in [0, 1], whose brightness must differ from "
        "the background for the frame to count as motion. The default wakes for a person "
        "far from the camera and sleeps through sensor and compression noise on the clips "
        "we measured (README: motion gating).",
    )
    pixel_delta: int = Field(
        20,
        ge=4,
        le=128,
        description="Grey levels (0-255) by which a pixel of the blurred, downscaled "
        "picture must differ from the background to count as changed.",
    )
    hold_s: float = Field(
        5.0,
        ge=0,
        le=600,
        description="Seconds the camera stays at analysis_fps after the last motion or "
        "the last person seen.",
    )
