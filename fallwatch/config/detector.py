"""Detector config: a discriminated union on `type`, so a wrong type fails at load."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from fallwatch.config.base import Section


class PoseDetectorConfig(Section):
    """MoveNet MultiPose Lightning (17 keypoints, up to 6 people) run with LiteRT."""

    type: Literal["pose"] = "pose"
    input_wh: tuple[int, int] = Field(
        (256, 192),
        description="Model input width and height in pixels, multiples of 32. 256x192 fits "
        "4:3 cameras exactly; larger finds smaller people at a higher cost.",
    )
    min_person_score: float = Field(
        0.2, ge=0.0, le=1.0, description="Minimum MoveNet person score to keep a detection."
    )
    num_threads: int = Field(2, ge=1, le=64, description="CPU threads for inference.")

    @field_validator("input_wh")
    @classmethod
    def _multiple_of_32(cls, v: tuple[int, int]) -> tuple[int, int]:
        w, h = v
        if w % 32 or h % 32 or not (64 <= w <= 1024 and 64 <= h <= 1024):
            raise ValueError(f"input_wh must be multiples of 32 between 64 and 1024, got {v}")
        return v


DetectorConfig = Annotated[PoseDetectorConfig, Field(discriminator="type")]
