"""Default detector: MoveNet MultiPose Lightning on LiteRT."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from fallwatch.config.detector import PoseDetectorConfig
from fallwatch.detect.bundle import movenet_path
from fallwatch.detect.decoders.movenet import decode_movenet_multipose
from fallwatch.detect.letterbox import Letterbox, letterbox
from fallwatch.detect.runtimes.litert import LiteRTRuntime
from fallwatch.types import Frame, Poses


class MoveNetDetector:
    """Multi-person pose: up to 6 people, 17 COCO keypoints each."""

    name = "pose"

    def __init__(self, config: PoseDetectorConfig | None = None, model_path: Path | None = None):
        self.config = config or PoseDetectorConfig()
        w, h = self.config.input_wh
        self._runtime = LiteRTRuntime(
            model_path or movenet_path(), (1, h, w, 3), num_threads=self.config.num_threads
        )

    def detect(self, frame: Frame) -> Poses:
        tensor, box = self.preprocess(frame)
        return self.decode(self.infer(tensor), box)

    def detect_region(self, frame: Frame, region_xyxy: tuple[int, int, int, int]) -> Poses:
        """People inside `region_xyxy` (frame pixels, x2/y2 exclusive), enlarged to the
        model input, in frame pixels. The zoomed second look at small people uses this."""
        tensor, box = self.preprocess(frame, region_xyxy)
        return self.decode(self.infer(tensor), box)

    # The three steps are public so the benchmark can time them apart.
    def preprocess(
        self, frame: Frame, region_xyxy: tuple[int, int, int, int] | None = None
    ) -> tuple[npt.NDArray[np.uint8], Letterbox]:
        """BGR frame (or its `region_xyxy`) -> letterboxed RGB uint8 tensor `[1, H, W, 3]`
        and its placement; the placement maps decoded points back to frame pixels."""
        if region_xyxy is None:
            rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
            tensor, box = letterbox(rgb, self.config.input_wh)
            return tensor[np.newaxis], box
        x1, y1, x2, y2 = region_xyxy
        w, h = frame.size_wh
        if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
            raise ValueError(
                f"region_xyxy must be a non-empty box inside the {w}x{h} frame, got {region_xyxy}"
            )
        # Colour-convert the crop only: it is a small part of the frame.
        rgb = cv2.cvtColor(frame.image[y1:y2, x1:x2], cv2.COLOR_BGR2RGB)
        tensor, box = letterbox(rgb, self.config.input_wh)
        return tensor[np.newaxis], replace(box, origin_xy=(float(x1), float(y1)))

    def infer(self, tensor: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        (output,) = self._runtime.run(tensor)
        return output  # type: ignore[return-value]

    def decode(self, output: npt.NDArray[np.float32], box: Letterbox) -> Poses:
        return decode_movenet_multipose(output, box, self.config.min_person_score)
