"""Letterbox resize: keep the aspect ratio, pad to the model's input size."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Letterbox:
    """How a frame was placed in the model input, to map model coordinates back.

    The image is scaled by `scale` and placed at (`pad_x`, `pad_y`) in an input of
    `input_wh`; model coordinates normalised to the padded input map back with
    `x_px = (x_norm * input_w - pad_x) / scale + origin_x`. `origin_xy` is where the
    letterboxed image's top-left corner lies in the source frame: (0, 0) for a whole
    frame, the crop's corner for a zoomed region, so its keypoints land in frame pixels.
    """

    scale: float
    pad_x: int
    pad_y: int
    input_wh: tuple[int, int]
    origin_xy: tuple[float, float] = (0.0, 0.0)

    def to_pixels_xy(self, xy_norm: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """`(..., 2)` x, y normalised to the input tensor -> pixels of the source frame."""
        w, h = self.input_wh
        out = np.empty_like(xy_norm, dtype=np.float32)
        ox, oy = self.origin_xy
        out[..., 0] = (xy_norm[..., 0] * w - self.pad_x) / self.scale + ox
        out[..., 1] = (xy_norm[..., 1] * h - self.pad_y) / self.scale + oy
        return out


def letterbox(
    image: npt.NDArray[np.uint8], input_wh: tuple[int, int], pad_value: int = 0, center: bool = True
) -> tuple[npt.NDArray[np.uint8], Letterbox]:
    """Resize `image` (h, w, c) into `input_wh` keeping its aspect ratio."""
    in_w, in_h = input_wh
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ValueError(f"image must be non-empty, got {image.shape}")
    scale = min(in_w / w, in_h / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    pad_x = (in_w - new_w) // 2 if center else 0
    pad_y = (in_h - new_h) // 2 if center else 0
    # Area averaging when shrinking (no aliasing); when enlarging (a zoomed crop) it
    # degrades to nearest-neighbour blocks, so interpolate linearly instead.
    interpolation = cv2.INTER_AREA if scale <= 1.0 else cv2.INTER_LINEAR
    if (new_w, new_h) == (in_w, in_h):
        resized = (
            cv2.resize(image, (in_w, in_h), interpolation=interpolation)
            if (w, h) != (in_w, in_h)
            else image
        )
        return np.ascontiguousarray(resized), Letterbox(scale, 0, 0, input_wh)
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    canvas = np.full((in_h, in_w, image.shape[2]), pad_value, dtype=np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    return canvas, Letterbox(scale, pad_x, pad_y, input_wh)
