"""Stills: does the detector + the single-frame lying score find the fallen people?

A still has no history, so this measures only `FallClassifier.down_scores` (posture from
one frame), not the time vote: an image counts as fallen when any person scores at or
above `down_enter`; its truth is fallen when any label box is a fallen class. Boxes are
also matched one-to-one (IoU >= 0.3; pose boxes hug the keypoints, label boxes the whole
body) to tell "person not found" apart from "found but judged upright".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.fall import FallConfig
from fallwatch.detect.base import Detector
from fallwatch.evaluation.manifest import Manifest, StillItem
from fallwatch.evaluation.runner import Detections, PosesCache
from fallwatch.evaluation.scoring import Confusion
from fallwatch.fall.classifier import FallClassifier
from fallwatch.geometry import box_iou
from fallwatch.types import Frame, Poses

BOX_MATCH_IOU = 0.3


@dataclass(frozen=True)
class LabelBox:
    class_id: int
    xyxy: tuple[float, float, float, float]
    """Pixels of the image."""


def read_yolo_labels(path: Path, size_wh: tuple[int, int]) -> list[LabelBox]:
    """Boxes of a YOLO txt (`class cx cy w h`, normalised) in pixels; ValueError naming the line."""
    if not path.is_file():
        raise ValueError(f"{path}: no such label file")
    w, h = size_wh
    boxes = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            if len(fields) != 5:
                raise ValueError(f"expected 5 fields, got {len(fields)}")
            class_id = int(fields[0])
            cx, cy, bw, bh = (float(v) for v in fields[1:])
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: not 'class cx cy w h': {exc}") from None
        boxes.append(
            LabelBox(
                class_id,
                (
                    (cx - bw / 2) * w,
                    (cy - bh / 2) * h,
                    (cx + bw / 2) * w,
                    (cy + bh / 2) * h,
                ),
            )
        )
    return boxes


def match_boxes(
    truth_xyxy: npt.NDArray[np.float32],
    found_xyxy: npt.NDArray[np.float32],
    min_iou: float,
) -> dict[int, int]:
    """Greedy one-to-one match, best IoU first: truth index -> found index."""
    iou = box_iou(truth_xyxy, found_xyxy)
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for flat in np.argsort(-iou, axis=None):
        ti, fi = np.unravel_index(flat, iou.shape)
        if iou[ti, fi] < min_iou:
            break
        if int(ti) in pairs or int(fi) in used:
            continue
        pairs[int(ti)] = int(fi)
        used.add(int(fi))
    return pairs


@dataclass(frozen=True)
class StillOutcome:
    name: str
    """Image path relative to the manifest."""
    truth_fallen: bool = False
    predicted_fallen: bool = False
    max_down_score: float | None = None
    people: int = 0
    fall_boxes: int = 0
    fall_boxes_found: int = 0
    """Fallen label boxes matched by a detected person."""
    fall_boxes_down: int = 0
    """... and that person scored down."""
    upright_boxes: int = 0
    upright_boxes_found: int = 0
    upright_boxes_down: int = 0
    """Sitting or standing label boxes whose matched person scored down (false)."""
    error: str | None = None


@dataclass(frozen=True)
class StillsResult:
    outcomes: list[StillOutcome]
    down_enter: float
    wall_s: float
    cached: int = 0

    @property
    def judged(self) -> list[StillOutcome]:
        return [o for o in self.outcomes if o.error is None]

    @property
    def errors(self) -> list[StillOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def confusion(self) -> Confusion:
        ok = self.judged
        return Confusion.count([o.truth_fallen for o in ok], [o.predicted_fallen for o in ok])

    def box_totals(self) -> dict[str, int]:
        keys = (
            "fall_boxes",
            "fall_boxes_found",
            "fall_boxes_down",
            "upright_boxes",
            "upright_boxes_found",
            "upright_boxes_down",
        )
        return {k: sum(getattr(o, k) for o in self.judged) for k in keys}


class StillsEvaluator:
    """Judges labelled stills with the detector and the single-frame down score."""

    def __init__(
        self,
        detector: Detector,
        fall_config: FallConfig,
        cache: PosesCache | None = None,
    ):
        self.detector = detector
        self.classifier = FallClassifier(fall_config, camera_id="stills")
        self.down_enter = fall_config.down_enter
        self.cache = cache

    def evaluate(self, manifest: Manifest, items: Sequence[StillItem]) -> StillsResult:
        assert manifest.images is not None
        fallen_ids = manifest.images.fallen_class_ids
        started = time.perf_counter()
        outcomes = []
        cached = 0
        for item in items:
            image_path, label_path = manifest.still_paths(item)
            name = manifest.still_name(item)
            try:
                outcome, hit = self._judge(name, image_path, label_path, fallen_ids)
            except (ValueError, OSError, cv2.error) as exc:
                outcome, hit = StillOutcome(name=name, error=str(exc)), False
            outcomes.append(outcome)
            cached += hit
        return StillsResult(outcomes, self.down_enter, time.perf_counter() - started, cached)

    def _detect(self, image_path: Path) -> tuple[Poses, tuple[int, int], bool]:
        if self.cache is not None and image_path.is_file():
            hit = self.cache.load(image_path)
            if hit is not None and len(hit.poses) == 1:
                return hit.poses[0], hit.size_wh, True
        if not image_path.is_file():
            raise ValueError(f"{image_path}: no such image")
        image: npt.NDArray[np.uint8] | None = cv2.imread(str(image_path), cv2.IMREAD_COLOR)  # type: ignore[assignment]
        if image is None:
            raise ValueError(f"{image_path}: not an image OpenCV can decode")
        frame = Frame(image=image, t_s=0.0, index=0, camera_id="stills")
        poses = self.detector.detect(frame)
        if self.cache is not None:
            self.cache.save(
                image_path,
                Detections(0.0, frame.size_wh, np.zeros(1, np.float64), [poses]),
            )
        return poses, frame.size_wh, False

    def _judge(
        self, name: str, image_path: Path, label_path: Path, fallen_ids: frozenset[int]
    ) -> tuple[StillOutcome, bool]:
        poses, size_wh, hit = self._detect(image_path)
        boxes = read_yolo_labels(label_path, size_wh)
        scores = self.classifier.down_scores(poses)
        down = scores >= self.down_enter
        truth_xyxy = np.array([b.xyxy for b in boxes], np.float32).reshape(-1, 4)
        pairs = match_boxes(truth_xyxy, poses.xyxy, BOX_MATCH_IOU)
        is_fall = [b.class_id in fallen_ids for b in boxes]
        found = [i in pairs for i in range(len(boxes))]
        found_down = [i in pairs and bool(down[pairs[i]]) for i in range(len(boxes))]
        outcome = StillOutcome(
            name=name,
            truth_fallen=any(is_fall),
            predicted_fallen=bool(down.any()),
            max_down_score=float(scores.max()) if len(scores) else None,
            people=len(poses),
            fall_boxes=sum(is_fall),
            fall_boxes_found=sum(f for f, x in zip(found, is_fall, strict=True) if x),
            fall_boxes_down=sum(d for d, x in zip(found_down, is_fall, strict=True) if x),
            upright_boxes=sum(not x for x in is_fall),
            upright_boxes_found=sum(f for f, x in zip(found, is_fall, strict=True) if not x),
            upright_boxes_down=sum(d for d, x in zip(found_down, is_fall, strict=True) if not x),
        )
        return outcome, hit
