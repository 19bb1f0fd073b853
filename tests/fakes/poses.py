"""Tiny builders of synthetic people for tests."""

from __future__ import annotations

import math

import numpy as np

from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.types import NUM_KEYPOINTS, Frame, Poses

# Fractions of body height from the feet, per COCO keypoint, for a standing person.
_HEIGHT_FRACTION = np.array(
    [
        0.95,
        0.97,
        0.97,
        0.96,
        0.96,
        0.82,
        0.82,
        0.65,
        0.65,
        0.5,
        0.5,
        0.52,
        0.52,
        0.28,
        0.28,
        0.02,
        0.02,
    ]
)
_SIDE_OFFSET = np.array([0, -1, 1, -2, 2, -3, 3, -4, 4, -4, 4, -2, 2, -2, 2, -2, 2]) * 0.04


def person_keypoints(
    feet_xy: tuple[float, float], height_px: float, angle_deg: float = 0.0
) -> np.ndarray:
    """`(17, 2)` keypoints of a straight person of `height_px`, feet at `feet_xy`,
    rotated `angle_deg` from vertical (90 = lying with the head to the right)."""
    along = _HEIGHT_FRACTION * height_px
    across = _SIDE_OFFSET * height_px
    a = math.radians(angle_deg)
    # Unit vector from feet to head, and its perpendicular.
    ux, uy = math.sin(a), -math.cos(a)
    px, py = -uy, ux
    x = feet_xy[0] + along * ux + across * px
    y = feet_xy[1] + along * uy + across * py
    return np.stack([x, y], axis=1).astype(np.float32)


def make_poses(
    people: list[np.ndarray], scores: list[float] | None = None, track_ids: list[int] | None = None
) -> Poses:
    """Poses from keypoint arrays; boxes are the keypoints' extent plus a margin."""
    if not people:
        return Poses.empty()
    kps = np.stack(people).astype(np.float32)
    mins = kps.min(axis=1) - 5
    maxs = kps.max(axis=1) + 5
    xyxy = np.concatenate([mins, maxs], axis=1)
    n = len(people)
    return Poses.create(
        xyxy=xyxy,
        scores=scores or [0.6] * n,
        keypoints=kps,
        keypoint_scores=np.full((n, NUM_KEYPOINTS), 0.8, np.float32),
        track_ids=track_ids,
    )


class FakeRegionModel:
    """A pose model for the zoom pass: gives back fixed `people` (frame pixels) for a
    region, and records the regions asked for. With `only_inside`, a region finds them
    only when it holds the first person's box centre."""

    def __init__(
        self, people: Poses, config: PoseDetectorConfig | None = None, only_inside: bool = False
    ) -> None:
        self.people = people
        self.config = config or PoseDetectorConfig()
        self.only_inside = only_inside
        self.regions: list[tuple[int, int, int, int]] = []

    def detect_region(
        self,
        frame: Frame,
        region_xyxy: tuple[int, int, int, int],
        input_wh: tuple[int, int] | None = None,
    ) -> Poses:
        self.regions.append(region_xyxy)
        if not self.only_inside or not len(self.people):
            return self.people
        x1, y1, x2, y2 = region_xyxy
        cx, cy = (self.people.xyxy[0, :2] + self.people.xyxy[0, 2:]) / 2
        return self.people if x1 <= cx < x2 and y1 <= cy < y2 else Poses.empty()
