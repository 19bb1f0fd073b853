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
from fallwatch.geometry import box_iou
from fallwatch.posture import posture_features
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

    YOLO boxes that match no pose person are dropped, with one exception, the *handoff*:
    the pose model often loses a person once they lie flat or foreshortened, right after
    it saw them going down. For `handoff_s` after pose last saw a possible down person,
    YOLO keeps running there, and a box it calls fallen that overlaps that place but no
    pose person is added as a person without keypoints (the classifier then takes its
    fallen score alone) and renews the place. The tracker joins it to the lost person's
    track, whose fall was already seen. A fallen box anywhere else is still dropped:
    that is where the YOLO model's false alarms are. Both models run in turn on the
    caller's thread, so a frame costs the sum of the two.
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
        self._places = _DownPlaces(config.handoff_s)

    def detect(self, frame: Frame) -> Poses:
        cfg = self.config
        people = self.pose.detect(frame)
        candidates = down_candidates(people)
        self._places.forget_before(frame.t_s)
        self._places.remember(people.xyxy[candidates], frame.t_s)
        if cfg.verify_candidates_only and not candidates.any() and not self._places:
            return people  # fallen scores stay NaN: pose alone judges upright people
        boxes = self.yolo.detect(frame)
        verified = match_fallen_scores(people, boxes, cfg.match_iou)
        if cfg.verify_candidates_only:
            fallen = np.where(candidates, verified.fallen_scores, np.nan).astype(np.float32)
            verified = replace(people, fallen_scores=fallen)
        lost = handoff_boxes(people, boxes, self._places.xyxy)
        if not len(lost):
            return verified
        self._places.remember(lost.xyxy, frame.t_s)
        # The YOLO box's own score stays: it is how sure the model is that a person is there.
        return Poses.concat([verified, lost])


HANDOFF_MIN_IOU = 0.1
"""A fallen YOLO box continues a remembered place from this IoU, and overlapping a pose
person this much makes it that person (the tracker's own threshold for continuing a
track: a mid-fall box and the lying body overlap little)."""


class _DownPlaces:
    """Boxes where someone may have been down lately, each kept for `keep_s` seconds."""

    def __init__(self, keep_s: float):
        self.keep_s = keep_s
        self._boxes = np.zeros((0, 4), np.float32)
        self._seen_s = np.zeros(0, np.float64)
        self._last_t_s: float | None = None

    def __len__(self) -> int:
        return len(self._boxes)

    @property
    def xyxy(self) -> np.ndarray:
        return self._boxes

    def forget_before(self, t_s: float) -> None:
        """Drop places older than `keep_s`; all of them when time did not move on (a new
        clip, a looped file, unrelated stills all at 0 s), since those places belong to
        another picture."""
        if self._last_t_s is not None and t_s <= self._last_t_s:
            self._seen_s = np.full_like(self._seen_s, -np.inf)
        self._last_t_s = t_s
        keep = t_s - self._seen_s <= self.keep_s
        self._boxes, self._seen_s = self._boxes[keep], self._seen_s[keep]

    def remember(self, xyxy: np.ndarray, t_s: float) -> None:
        if self.keep_s <= 0 or not len(xyxy):
            return
        self._boxes = np.concatenate([self._boxes, xyxy.astype(np.float32)])
        self._seen_s = np.concatenate([self._seen_s, np.full(len(xyxy), t_s)])


CANDIDATE_MIN_ANGLE_DEG = 40.0
CANDIDATE_MIN_ASPECT_WH = 1.0


def down_candidates(people: Poses) -> np.ndarray:
    """`(n,)` True for people who might be down: body or torso leaning past 40 degrees, or
    a box at least as wide as tall (a person lying towards the camera keeps a vertical
    axis but not an upright person's narrow box). Measured on the dev clips this sends
    about a fifth of frames to YOLO, and under a tenth of a seated person's frames."""
    f = posture_features(people)
    with np.errstate(invalid="ignore"):
        leaning = (f.body_angle_deg >= CANDIDATE_MIN_ANGLE_DEG) | (
            f.torso_angle_deg >= CANDIDATE_MIN_ANGLE_DEG
        )
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


def handoff_boxes(people: Poses, boxes: Poses, places_xyxy: np.ndarray) -> Poses:
    """YOLO `boxes` that stand for a person the pose model lost while down: the model
    calls them fallen (their fallen score is their best class score), they overlap a
    remembered down place with IoU >= `HANDOFF_MIN_IOU`, and they overlap no pose person
    that much (one they match gives that person its fallen score instead; one they only
    touch is most likely that person too, and would become a second track of them)."""
    if not len(boxes) or not len(places_xyxy):
        return Poses.empty()
    fallen = np.nan_to_num(boxes.fallen_scores, nan=-1.0)
    keep = (fallen > 0) & (fallen >= boxes.scores)
    keep &= box_iou(boxes.xyxy, places_xyxy.astype(np.float32)).max(axis=1) >= HANDOFF_MIN_IOU
    if len(people):
        keep &= box_iou(boxes.xyxy, people.xyxy).max(axis=1) < HANDOFF_MIN_IOU
    lost = boxes[keep]
    # Keypoints stay NaN whatever the YOLO detector put there: the classifier must judge
    # these by their fallen score alone.
    return Poses.create(xyxy=lost.xyxy, scores=lost.scores, fallen_scores=lost.fallen_scores)
