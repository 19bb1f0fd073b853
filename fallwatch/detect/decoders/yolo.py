"""Decode YOLO outputs into `Poses` whose `fallen_scores` come from a "fallen" class.

Pure numpy. Four output layouts, all with boxes as centre x, centre y, width, height:

- `v5`  `[1, N, 5 + nc]`: box in input pixels, objectness, class probabilities
  (YOLOv5; a box's class score is objectness x class probability);
- `v8`  `[1, 4 + nc, N]`: box in input pixels, class scores, no objectness
  (YOLOv8 / YOLO11, as Ultralytics exports them);
- `v8t` `[1, N, 4 + nc]`: the same, transposed (some third-party exports);
- `darknet`: OpenCV DNN's `[yolo]` outputs, each `(rows, 5 + nc)`: box normalised to
  the input, objectness, class scores already multiplied by the objectness.

Which one a model uses is told by the output shape and the class count, so a model
whose names do not fit its output is refused at load rather than misread.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from fallwatch.geometry import box_iou
from fallwatch.types import FloatArray, IntArray, Poses

MAX_CANDIDATES = 1000
"""Boxes kept by score before NMS: greedy NMS is quadratic, and a frame never holds
anywhere near this many people, so the cap only bounds the cost of a noisy frame."""


class YoloLayout(StrEnum):
    V5 = "v5"
    V8 = "v8"
    V8_TRANSPOSED = "v8t"
    DARKNET = "darknet"


class YoloOutputError(ValueError):
    """A model's output does not have a YOLO layout Fallwatch can decode."""


class ClassNamesError(ValueError):
    """Class names are missing, malformed, or do not fit the model."""


class PixelMapping(Protocol):
    """How the frame was placed in the model input (a `Letterbox`, or a plain resize)."""

    def to_pixels_xy(self, xy_norm: FloatArray) -> FloatArray: ...


def find_layout(shape: Sequence[int], num_classes: int, source: str) -> YoloLayout:
    """The layout of an ONNX YOLO output of `shape` for a model of `num_classes`.

    The candidate axis is the long one (thousands of anchors), the attribute axis the
    short one, so `[1, 6, 8400]` with 2 classes is v8 and `[1, 25200, 7]` is v5.
    """
    dims = tuple(int(d) for d in shape)
    if len(dims) == 3 and dims[0] == 1:
        _, a, b = dims
        if a == 4 + num_classes and b > a:
            return YoloLayout.V8
        if b == 5 + num_classes and a > b:
            return YoloLayout.V5
        if b == 4 + num_classes and a > b:
            return YoloLayout.V8_TRANSPOSED
    raise YoloOutputError(
        f"{source}: output shape {list(dims)} is no YOLO layout known for {num_classes} "
        f"classes: expected v8/YOLO11 [1, {4 + num_classes}, N], its transpose "
        f"[1, N, {4 + num_classes}], or v5 [1, N, {5 + num_classes}] (models exported "
        "with NMS inside, or segmentation/pose models, are not supported)"
    )


def parse_names_metadata(text: str, source: str) -> tuple[str, ...]:
    """Class names from an Ultralytics `names` metadata string.

    The string is a Python literal, `"{0: 'Normal', 1: 'Fall'}"` or `"['Normal', 'Fall']"`:
    it is read with `ast.literal_eval`, which parses literals only, never runs code.
    """
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ClassNamesError(
            f"{source}: 'names' metadata {text[:80]!r} is not a Python literal: {exc}"
        ) from None
    if isinstance(value, dict):
        keys = sorted(value)
        if keys != list(range(len(keys))) or not all(isinstance(v, str) for v in value.values()):
            raise ClassNamesError(
                f"{source}: 'names' metadata must map 0..n-1 to strings, got {text[:80]!r}"
            )
        names = tuple(value[k] for k in keys)
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = tuple(value)
    else:
        raise ClassNamesError(
            f"{source}: 'names' metadata must be a dict or list of strings, got {text[:80]!r}"
        )
    if not names:
        raise ClassNamesError(f"{source}: 'names' metadata lists no classes")
    return names


def read_names_file(path: Path) -> tuple[str, ...]:
    """Class names one a line, in class-index order (Darknet `.names`); blank lines skipped."""
    path = Path(path)
    if not path.is_file():
        raise ClassNamesError(f"class names file {path} does not exist")
    names = tuple(
        line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    )
    if not names:
        raise ClassNamesError(f"class names file {path} lists no classes")
    return names


@dataclass(frozen=True)
class YoloClasses:
    """A model's class names and which of them mean fallen / upright person."""

    names: tuple[str, ...]
    fallen: IntArray
    """Class indices meaning a fallen person (at least one)."""
    person: IntArray
    """Class indices meaning an upright or sitting person (may be empty)."""

    @classmethod
    def select(
        cls,
        names: Sequence[str],
        fallen_classes: Sequence[str],
        person_classes: Sequence[str],
        source: str,
    ) -> YoloClasses:
        """Match class names ignoring case; a model with no fallen class is refused."""
        fallen_set = {c.casefold() for c in fallen_classes}
        person_set = {c.casefold() for c in person_classes}
        fallen = [i for i, n in enumerate(names) if n.casefold() in fallen_set]
        person = [i for i, n in enumerate(names) if n.casefold() in person_set]
        if not fallen:
            raise ClassNamesError(
                f"{source}: none of the model's classes {list(names)} is in fallen_classes "
                f"{list(fallen_classes)}; add the model's fallen class name to fallen_classes"
            )
        return cls(tuple(names), np.asarray(fallen, np.int64), np.asarray(person, np.int64))

    @property
    def kept(self) -> IntArray:
        return np.concatenate([self.fallen, self.person])


def candidates(
    outputs: Sequence[npt.NDArray[np.generic]],
    layout: YoloLayout,
    num_classes: int,
    input_wh: tuple[int, int],
) -> tuple[FloatArray, FloatArray]:
    """All candidate boxes: `xyxy` `(n, 4)` in input pixels and class scores `(n, nc)`.

    For `v5` and `darknet` the class score includes the objectness, so scores of all
    layouts mean the same: the confidence that this box is an object of that class.
    """
    if isinstance(outputs, np.ndarray):
        outputs = [outputs]  # a lone array, not a list of them: do not iterate its batch axis
    w, h = input_wh
    if layout is YoloLayout.DARKNET:
        width = 5 + num_classes
        bad = [o.shape for o in outputs if o.ndim != 2 or o.shape[1] != width]
        if bad or not outputs:
            raise YoloOutputError(
                f"Darknet [yolo] outputs must be (rows, {width}) for {num_classes} classes, got {bad}"
            )
        rows = np.concatenate([np.asarray(o, np.float32) for o in outputs])
        cxcywh = rows[:, :4] * np.array([w, h, w, h], np.float32)
        scores = rows[:, 5:]
    else:
        out = np.asarray(outputs[0], np.float32)
        expected_layout = find_layout(out.shape, num_classes, "model output")
        if expected_layout is not layout:
            raise YoloOutputError(
                f"model output {list(out.shape)} is now {expected_layout}, was {layout} at load"
            )
        rows = out[0].T if layout is YoloLayout.V8 else out[0]
        cxcywh = rows[:, :4]
        scores = rows[:, 5:] * rows[:, 4:5] if layout is YoloLayout.V5 else rows[:, 4:]
    half = cxcywh[:, 2:4] / 2
    xyxy = np.concatenate([cxcywh[:, :2] - half, cxcywh[:, :2] + half], axis=1)
    return xyxy.astype(np.float32), np.ascontiguousarray(scores, dtype=np.float32)


def nms(xyxy: FloatArray, scores: FloatArray, iou_threshold: float) -> IntArray:
    """Greedy NMS: indices of kept boxes, best first. A box is suppressed by a better one
    whose IoU with it is at or above `iou_threshold`."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        if not rest.size:
            break
        order = rest[box_iou(xyxy[best : best + 1], xyxy[rest])[0] < iou_threshold]
    return np.asarray(keep, np.int64)


def decode_yolo(
    outputs: Sequence[npt.NDArray[np.generic]],
    layout: YoloLayout,
    classes: YoloClasses,
    input_wh: tuple[int, int],
    to_pixels: PixelMapping,
    frame_wh: tuple[int, int],
    min_score: float,
    nms_iou: float,
) -> Poses:
    """People found by a YOLO fall model, in frame pixels, best first.

    A candidate is kept when its best class is a fallen or person class and that class
    scores at least `min_score`. NMS is class-agnostic: fall models often put a "Normal"
    and a "Fall" box on the same body mid-fall, and class-aware NMS would hand the
    tracker two people where there is one. The kept box gives `scores` (its best class
    score) and `fallen_scores` (its best fallen-class score, so a box that won as
    "Normal" still reports how fallen it looks). Keypoints stay NaN.
    """
    xyxy_in, scores = candidates(outputs, layout, len(classes.names), input_wh)
    best_class = scores.argmax(axis=1) if len(scores) else np.zeros(0, np.int64)
    best_score = scores.max(axis=1) if len(scores) else np.zeros(0, np.float32)
    ok = (
        np.isfinite(xyxy_in).all(axis=1)
        & np.isfinite(scores).all(axis=1)
        & (best_score >= min_score)
        & np.isin(best_class, classes.kept)
    )
    idx = np.flatnonzero(ok)
    if len(idx) > MAX_CANDIDATES:
        idx = idx[np.argsort(-best_score[idx], kind="stable")[:MAX_CANDIDATES]]
    # NMS before clipping to the frame, as Darknet and Ultralytics do: a clipped box
    # would overlap its neighbours more than the model meant.
    idx = idx[nms(xyxy_in[idx], best_score[idx], nms_iou)]
    in_w, in_h = input_wh
    corners_norm = (
        (xyxy_in[idx] / np.array([in_w, in_h, in_w, in_h], np.float32))
        .astype(np.float32)
        .reshape(-1, 2, 2)
    )
    xyxy = to_pixels.to_pixels_xy(corners_norm).reshape(-1, 4)
    frame_w, frame_h = frame_wh
    xyxy = np.clip(xyxy, 0, np.array([frame_w, frame_h, frame_w, frame_h], np.float32))
    visible = (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])
    idx, xyxy = idx[visible], xyxy[visible]
    fallen = scores[idx][:, classes.fallen].max(axis=1) if len(idx) else np.zeros(0, np.float32)
    return Poses.create(
        xyxy=xyxy,
        scores=np.clip(best_score[idx], 0.0, 1.0),
        fallen_scores=np.clip(fallen, 0.0, 1.0),
    )
