"""Pose people with a fallen score from a YOLO fall model: two opinions per person.

The fall classifier judges a person down only when the pose geometry (a lying body:
keypoints spread along the floor, a wide box) AND the fallen score agree. A pose
detector alone raises alarms for people bending, sitting on the floor or crouching
over a low shelf; a YOLO fall model alone raises them for a coat on a chair or a
person lying on a sofa seen from an odd angle. Their mistakes rarely coincide, so
requiring both lets each veto the other's false alarms, at the cost of missing a fall
that only one of them sees.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from fallwatch.config.detector import HybridDetectorConfig
from fallwatch.fall.features import posture_features
from fallwatch.geometry import box_iou
from fallwatch.types import Frame, Poses

if TYPE_CHECKING:  # base imports this module's config; a runtime import would cycle
    from fallwatch.detect.base import Detector


class HybridDetector:
    """Runs a pose detector and a YOLO fall detector on each frame.

    `detect` returns the POSE people (boxes, scores, keypoints from the pose model) with
    `fallen_scores` `(n,)` filled in: for each person, the highest fallen score among
    the YOLO boxes whose IoU with the person's box is at least `match_iou`, or 0.0 when
    no YOLO box matches (YOLO saw no fallen person there, which is a vote against).
    With `verify_candidates_only`, YOLO runs only when some person may be down, and
    people who are clearly upright keep a NaN fallen score (the pose model alone judges
    them, and it already says "not down").

    YOLO boxes that match no pose person are dropped: a person the pose model misses
    (it does miss some people lying flat and foreshortened) is missed here too. Both
    models run in turn on the caller's thread, so a frame costs the sum of the two.
    """

    name = "hybrid"

    def __init__(
        self,
        config: HybridDetectorConfig,
        pose: Detector | None = None,
        yolo: Detector | None = None,
    ):
        """`pose` and `yolo` default to the detectors `config` describes; pass others
        (already loaded, or fakes in tests) to share or replace them."""
        self.config = config
        if pose is None:
            from fallwatch.detect.pose import MoveNetDetector

            pose = MoveNetDetector(config.pose)
        if yolo is None:
            from fallwatch.detect.yolo import YoloDetector

            yolo = YoloDetector(config.yolo)
        self.pose = pose
        self.yolo = yolo

    def detect(self, frame: Frame) -> Poses:
        people = self.pose.detect(frame)
        if self.config.verify_candidates_only:
            candidates = down_candidates(people)
            if not candidates.any():
                return people  # fallen scores stay NaN: pose alone judges upright people
            verified = match_fallen_scores(people, self.yolo.detect(frame), self.config.match_iou)
            fallen = np.where(candidates, verified.fallen_scores, np.nan).astype(np.float32)
            return replace(people, fallen_scores=fallen)
        return match_fallen_scores(people, self.yolo.detect(frame), self.config.match_iou)


CANDIDATE_MIN_ANGLE_DEG = 40.0
CANDIDATE_MIN_ASPECT_WH = 1.0


def down_candidates(people: Poses) -> np.ndarray:
    """`(n,)` True for people who might be down: body or torso leaning past 40 degrees, or
    a box at least as wide as tall (a person lying towards the camera keeps a vertical
    axis but not an upright person's narrow box). Measured on the dev clips this sends
    about a fifth of frames to YOLO, and under a tenth of a seated person's frames."""
    f = posture_features(people)
    with np.errstate(invalid="ignore"):
        leaning = (f.body_angle_deg >= CANDIDATE_MIN_ANGLE_DEG) | (f.torso_angle_deg >= CANDIDATE_MIN_ANGLE_DEG)
    return np.asarray(leaning | (f.aspect_wh >= CANDIDATE_MIN_ASPECT_WH), bool)


def match_fallen_scores(people: Poses, boxes: Poses, match_iou: float) -> Poses:
    """`people` with `fallen_scores` = max fallen score of `boxes` overlapping each person
    with IoU >= `match_iou` (0.0 where none does). NaN fallen scores in `boxes` are ignored."""
    fallen = np.zeros(len(people), np.float32)
    if len(people) and len(boxes):
        iou = box_iou(people.xyxy, boxes.xyxy)  # (people, boxes)
        box_fallen = np.nan_to_num(boxes.fallen_scores, nan=0.0)
        votes = np.where(iou >= match_iou, box_fallen[np.newaxis, :], 0.0)
        fallen = votes.max(axis=1).astype(np.float32)
    return replace(people, fallen_scores=fallen)
