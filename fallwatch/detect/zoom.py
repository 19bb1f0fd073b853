"""A zoomed second look at small people: the pose model run again on a crop around them.

MoveNet MultiPose sees the whole frame letterboxed to 256x192, so a person 60 px tall in
a 640x480 frame is 24 px to the model, and their keypoints are weak or missing: exactly
the distant person on a CCTV camera who falls. `ZoomPass.refine` crops around the few
people the analyzer names (small, and falling, down, or lost where they went down),
enlarges each crop to the model input, runs the pose model on it, and puts the zoomed
person in place of the main pass's one, or back in when the main pass lost them.

Which people are looked at is the analyzer's call (`fallwatch.pipeline.analyzer`): it
knows the tracks and their fall states; this module only knows boxes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from fallwatch.config.detector import PoseDetectorConfig, ZoomConfig
from fallwatch.geometry import box_iou
from fallwatch.types import Frame, Poses

MAX_UPSCALE = 4.0
"""A crop is never enlarged more than this: a 15-px person blown up to fill the input
is blur, and the model then sees shapes in it."""
MATCH_MIN_IOU = 0.1
MATCH_MAX_CENTER_DIST = 0.8
"""A person in the crop is the candidate from this IoU with the candidate's box, or with
its centre within this many of that box's diagonals (the tracker's own thresholds: a
person mid-fall changes shape fast, and the candidate's box is one frame old)."""
SAME_PERSON_MIN_IOU = 0.3
"""The zoomed person is the main pass's person when their boxes (same frame) overlap this
much. Stricter than matching the candidate: a person lying beside a helper must not take
the helper's place."""
VISIBLE_KEYPOINT_SCORE = 0.2
"""Keypoints at or above this score count as seen in `ZoomLook` (the fall rules' default
`min_keypoint_score`)."""


@dataclass(frozen=True)
class ZoomCandidate:
    """A person to look at closer: where they were last seen, in frame pixels."""

    xyxy: tuple[float, float, float, float]
    track_id: int
    lost: bool = False
    """True when the main pass no longer finds them (they are looked for where they were)."""


class ZoomAction(StrEnum):
    REPLACED = "replaced"
    """The zoomed person took the place of the main pass's one (more keypoint confidence)."""
    KEPT = "kept"
    """The main pass's person had at least as much keypoint confidence; left as it was."""
    ADDED = "added"
    """The main pass had nobody there; the zoomed person was added."""
    MISSED = "missed"
    """Nobody in the crop matched the candidate (or adding was off)."""


@dataclass(frozen=True)
class ZoomLook:
    """What one zoomed look did, for the bench and reports."""

    track_id: int
    region_xyxy: tuple[int, int, int, int]
    action: ZoomAction
    main_visible: int
    """Keypoints seen (score >= `VISIBLE_KEYPOINT_SCORE`) in the main pass's person; 0
    when the main pass had nobody there."""
    zoom_visible: int
    """Keypoints seen in the zoomed person; 0 when the crop gave nobody."""


@runtime_checkable
class RegionPoseModel(Protocol):
    """A pose model that can run on part of a frame (`MoveNetDetector`)."""

    config: PoseDetectorConfig

    def detect_region(
        self,
        frame: Frame,
        region_xyxy: tuple[int, int, int, int],
        input_wh: tuple[int, int] | None = None,
    ) -> Poses:
        """People inside the region enlarged to `input_wh`, in frame pixels."""
        ...


def crop_region(
    xyxy: tuple[float, float, float, float] | npt.ArrayLike,
    frame_wh: tuple[int, int],
    input_wh: tuple[int, int],
    margin: float,
) -> tuple[int, int, int, int]:
    """The crop to zoom on for a person box `xyxy`, as integer frame pixels (x2/y2 exclusive).

    Centred on the box; `margin` x its longest side high (at least the model input's
    height / `MAX_UPSCALE`) and as wide as the model input's aspect asks, so the
    letterbox wastes nothing on padding. A crop running off the frame is slid back
    inside rather than cut, and cut only where it is larger than the frame.
    """
    x1, y1, x2, y2 = (float(v) for v in np.asarray(xyxy, np.float64).reshape(4))
    frame_w, frame_h = frame_wh
    in_w, in_h = input_wh
    if frame_w < 1 or frame_h < 1:
        raise ValueError(f"frame_wh must be positive, got {frame_wh}")
    if margin < 1.0:
        raise ValueError(f"margin must be >= 1, got {margin}")
    longest = max(x2 - x1, y2 - y1, 1.0)
    crop_h = max(margin * longest, in_h / MAX_UPSCALE)
    crop_w = crop_h * in_w / in_h
    # A lying person is wider than a 4:3 crop's width allows: widen, keep the aspect.
    if crop_w < margin * longest:
        crop_w = margin * longest
        crop_h = crop_w * in_h / in_w

    def span(center: float, size: float, limit: int) -> tuple[int, int]:
        size_px = min(limit, max(1, math.ceil(size)))
        start = round(center - size_px / 2)
        start = min(max(start, 0), limit - size_px)
        return start, start + size_px

    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, right = span(cx, crop_w, frame_w)
    top, bottom = span(cy, crop_h, frame_h)
    return left, top, right, bottom


def nearest_box(ref_xyxy: npt.ArrayLike, boxes_xyxy: npt.NDArray[np.float32]) -> int | None:
    """Index of the box in `boxes_xyxy` `(m, 4)` most like `ref_xyxy`: the highest IoU, or
    the nearest centre where none overlaps; None when no box is within the match limits."""
    if not len(boxes_xyxy):
        return None
    ref = np.asarray(ref_xyxy, np.float32).reshape(1, 4)
    iou = box_iou(ref, boxes_xyxy)[0]
    rc = (ref[0, :2] + ref[0, 2:]) / 2
    bc = (boxes_xyxy[:, :2] + boxes_xyxy[:, 2:]) / 2
    diag = max(float(np.hypot(*(ref[0, 2:] - ref[0, :2]))), 1.0)
    dist = np.linalg.norm(bc - rc, axis=1) / diag
    sim = np.maximum(iou, np.clip(1.0 - dist / MATCH_MAX_CENTER_DIST, 0.0, None) * 0.5)
    ok = (iou >= MATCH_MIN_IOU) | (dist <= MATCH_MAX_CENTER_DIST)
    if not ok.any():
        return None
    return int(np.argmax(np.where(ok, sim, -1.0)))


def _visible(keypoint_scores: npt.NDArray[np.float32]) -> int:
    return int(np.count_nonzero(keypoint_scores >= VISIBLE_KEYPOINT_SCORE))


class ZoomPass:
    """Looks again, on enlarged crops, at the candidates the analyzer names.

    Costs one pose inference per candidate (at most `config.max_crops_per_frame`) on
    the caller's thread, plus a crop resize; nothing when there is no candidate.
    """

    def __init__(self, model: RegionPoseModel, config: ZoomConfig, add_missing: bool = True):
        """`add_missing`: put a zoomed person back when the main pass has nobody there.
        Off for `hybrid`, whose YOLO handoff already covers people the pose model lost
        and whose fall verdict needs the YOLO score an added person would lack."""
        self.model = model
        self.config = config
        self.add_missing = add_missing
        self.looks: tuple[ZoomLook, ...] = ()
        """What the last `refine` did, one entry a crop."""

    @property
    def main_input_wh(self) -> tuple[int, int]:
        """The main pass's model input, which decides who is small to the model."""
        return self.model.config.input_wh

    def reset(self) -> None:
        self.looks = ()

    def refine(self, frame: Frame, poses: Poses, candidates: list[ZoomCandidate]) -> Poses:
        """`poses` (the main pass on `frame`) with each candidate's person replaced by its
        zoomed look where that has more keypoint confidence, or added where the main pass
        has nobody there. Returns a new `Poses`; track ids and fallen scores of replaced
        people are kept (the zoom gives only a better skeleton and box)."""
        looks: list[ZoomLook] = []
        xyxy = poses.xyxy.copy()
        scores = poses.scores.copy()
        keypoints = poses.keypoints.copy()
        keypoint_scores = poses.keypoint_scores.copy()
        added: list[Poses] = []
        used: set[int] = set()
        for cand in candidates[: self.config.max_crops_per_frame]:
            region = crop_region(cand.xyxy, frame.size_wh, self.config.input_wh, self.config.margin)
            found = self.model.detect_region(frame, region, self.config.input_wh)
            k = nearest_box(cand.xyxy, found.xyxy)
            if k is None:
                looks.append(ZoomLook(cand.track_id, region, ZoomAction.MISSED, 0, 0))
                continue
            zoom_visible = _visible(found.keypoint_scores[k])
            overlap = box_iou(found.xyxy[k : k + 1], xyxy)[0]
            j = int(np.argmax(overlap)) if len(overlap) else -1
            if j >= 0 and overlap[j] >= SAME_PERSON_MIN_IOU and j in used:
                # Another candidate's crop already gave this person.
                looks.append(ZoomLook(cand.track_id, region, ZoomAction.MISSED, 0, zoom_visible))
                continue
            if j < 0 or overlap[j] < SAME_PERSON_MIN_IOU:
                twice = any(
                    box_iou(found.xyxy[k : k + 1], p.xyxy)[0, 0] >= SAME_PERSON_MIN_IOU
                    for p in added
                )
                action = ZoomAction.ADDED if self.add_missing and not twice else ZoomAction.MISSED
                if action == ZoomAction.ADDED:
                    # A fresh person: no fallen score (NaN), no track id yet.
                    added.append(
                        Poses.create(
                            xyxy=found.xyxy[k : k + 1],
                            scores=found.scores[k : k + 1],
                            keypoints=found.keypoints[k : k + 1],
                            keypoint_scores=found.keypoint_scores[k : k + 1],
                        )
                    )
                looks.append(ZoomLook(cand.track_id, region, action, 0, zoom_visible))
                continue
            used.add(j)
            main_visible = _visible(keypoint_scores[j])
            # The better look wins: a crop cut by the frame edge, or a neighbour walking
            # into it, can give a worse skeleton than the main pass had.
            if float(found.keypoint_scores[k].sum()) > float(keypoint_scores[j].sum()):
                xyxy[j] = found.xyxy[k]
                scores[j] = found.scores[k]
                keypoints[j] = found.keypoints[k]
                keypoint_scores[j] = found.keypoint_scores[k]
                action = ZoomAction.REPLACED
            else:
                action = ZoomAction.KEPT
            looks.append(ZoomLook(cand.track_id, region, action, main_visible, zoom_visible))
        self.looks = tuple(looks)
        if not looks:
            return poses
        refined = Poses(
            xyxy=xyxy,
            scores=scores,
            keypoints=keypoints,
            keypoint_scores=keypoint_scores,
            fallen_scores=poses.fallen_scores.copy(),
            track_ids=poses.track_ids.copy(),
        )
        return Poses.concat([refined, *added]) if added else refined


def zoom_pass_for(detector: object) -> ZoomPass | None:
    """The zoom pass a detector's config asks for, or None: for `pose` (its
    `zoom` section), for `hybrid` (its pose part's, replacing people only), none for
    `yolo` (a box model has no skeleton to refine) or with `zoom.enabled` off."""
    pose = getattr(detector, "pose", None)
    hybrid = pose is not None
    model = pose if hybrid else detector
    if not isinstance(model, RegionPoseModel) or not model.config.zoom.enabled:
        return None
    return ZoomPass(model, model.config.zoom, add_missing=not hybrid)
