"""Decode MoveNet MultiPose output `[1, 6, 56]` into `Poses`.

Per person: 17 keypoints x (y, x, score), then the box (ymin, xmin, ymax, xmax, score),
all normalised to the (letterboxed) input tensor.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fallwatch.detect.letterbox import Letterbox
from fallwatch.types import NUM_KEYPOINTS, Poses

VALUES_PER_PERSON = NUM_KEYPOINTS * 3 + 5


def decode_movenet_multipose(
    output: npt.NDArray[np.floating], box: Letterbox, min_person_score: float
) -> Poses:
    """People whose box score is at least `min_person_score`, in source-frame pixels."""
    out = np.asarray(output, dtype=np.float32)
    if out.ndim != 3 or out.shape[0] != 1 or out.shape[2] != VALUES_PER_PERSON:
        raise ValueError(
            f"MoveNet MultiPose output must be (1, k, {VALUES_PER_PERSON}), got {out.shape}"
        )
    people = out[0]
    people = people[people[:, 55] >= min_person_score]
    n = len(people)
    kp = people[:, : NUM_KEYPOINTS * 3].reshape(n, NUM_KEYPOINTS, 3)
    kp_xy_norm = kp[:, :, [1, 0]]  # (y, x) -> (x, y)
    keypoints = box.to_pixels_xy(kp_xy_norm)
    corners = people[:, 51:55].reshape(n, 2, 2)[:, :, [1, 0]]  # (ymin,xmin),(ymax,xmax) -> xy
    xyxy = box.to_pixels_xy(corners).reshape(n, 4)
    return Poses.create(
        xyxy=xyxy,
        scores=people[:, 55],
        keypoints=keypoints,
        keypoint_scores=kp[:, :, 2],
    )
